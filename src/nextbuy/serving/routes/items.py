"""Item routes: ``GET /items/{item_id}``, ``/items/{item_id}/similar`` and ``GET /popular``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from nextbuy.serving.deps import Experiments, PopularQuery, Service, SimilarQuery, limit_k
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import INVALID, NOT_FOUND
from nextbuy.serving.schemas.items import ItemDetail, SimilarItemsResponse
from nextbuy.serving.schemas.recommend import PopularResponse

router = APIRouter(prefix="/items", tags=["items"], responses=INVALID)
popular_router = APIRouter(tags=["items"], responses=INVALID)

ItemPath = Annotated[
    str, Path(max_length=256, description="The shop's item ID.", examples=["p_01234"])
]


@router.get(
    "/{item_id}", response_model=ItemDetail, summary="Describe an item", responses=NOT_FOUND
)
async def get_item(item_id: ItemPath, service: Service) -> ORJSONResponse:
    """Catalog fields, other attributes and training popularity of one item."""
    return ORJSONResponse(service.item(item_id))


@router.get(
    "/{item_id}/similar",
    response_model=SimilarItemsResponse,
    summary="Items similar to an item",
    responses=NOT_FOUND,
)
async def similar_items(
    item_id: ItemPath, service: Service, options: SimilarQuery, experiments: Experiments
) -> ORJSONResponse:
    """The `k` items most similar to `item_id` ("customers who bought this also bought").

    Factor models compare item vectors by cosine; other models use their own similarity.
    Items added after training take part through their attributes. Hidden, deleted and
    out-of-stock items are left out (the last unless `include_out_of_stock`).
    """
    limit_k(options.k, service.settings)
    answer = await service.similar_async(item_id, options.k, options.include_out_of_stock)
    return ORJSONResponse(experiments.tag_similar(answer))


@popular_router.get("/popular", response_model=PopularResponse, summary="Most popular items")
async def popular(service: Service, options: PopularQuery) -> ORJSONResponse:
    """The items most training users interacted with: what new users are shown."""
    limit_k(options.k, service.settings)
    return ORJSONResponse(service.popular(options))
