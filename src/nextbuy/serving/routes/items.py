"""Item routes: ``GET /items/{item_id}``, ``/items/{item_id}/similar`` and ``GET /popular``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from nextbuy.serving.deps import Service
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.routes.params import AnyStock, Brands, Categories, InStockOnly, K
from nextbuy.serving.schemas import (
    INVALID,
    ErrorMessage,
    ItemDetail,
    PopularResponse,
    SimilarItemsResponse,
)
from nextbuy.serving.service import Options

router = APIRouter(prefix="/items", tags=["items"], responses=INVALID)
popular_router = APIRouter(tags=["items"], responses=INVALID)

_NOT_FOUND = {404: {"model": ErrorMessage, "description": "The item is unknown."}}

ItemPath = Annotated[
    str, Path(max_length=256, description="The shop's item ID.", examples=["p_01234"])
]


def _check_k(k: int, max_k: int) -> None:
    if k > max_k:
        raise HTTPException(422, detail=f"k must be at most {max_k}")


@router.get(
    "/{item_id}", response_model=ItemDetail, summary="Describe an item", responses=_NOT_FOUND
)
async def get_item(item_id: ItemPath, service: Service) -> ORJSONResponse:
    """Catalog fields, other attributes and training popularity of one item."""
    return ORJSONResponse(service.item(item_id))


@router.get(
    "/{item_id}/similar",
    response_model=SimilarItemsResponse,
    summary="Items similar to an item",
    responses=_NOT_FOUND,
)
async def similar_items(
    item_id: ItemPath, service: Service, k: K = 10, include_out_of_stock: AnyStock = False
) -> ORJSONResponse:
    """The `k` items most similar to `item_id` ("customers who bought this also bought").

    Factor models compare item vectors by cosine; other models use their own similarity.
    Items added after training take part through their attributes. Hidden, deleted and
    out-of-stock items are left out (the last unless `include_out_of_stock`).
    """
    _check_k(k, service.settings.max_k)
    return ORJSONResponse(service.similar(item_id, k, include_out_of_stock))


@popular_router.get("/popular", response_model=PopularResponse, summary="Most popular items")
async def popular(
    service: Service,
    k: K = 10,
    category: Categories = None,
    brand: Brands = None,
    in_stock_only: InStockOnly = False,
    include_out_of_stock: AnyStock = False,
) -> ORJSONResponse:
    """The items most training users interacted with: what new users are shown."""
    _check_k(k, service.settings.max_k)
    options = Options(
        k=k,
        categories=category,
        brands=brand,
        in_stock_only=in_stock_only,
        include_out_of_stock=include_out_of_stock,
    )
    return ORJSONResponse(service.popular(options))
