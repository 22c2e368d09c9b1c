"""Recommendation routes: ``POST /recommend``, ``GET /recommend/{user_id}``, batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from nextbuy.serving.deps import Service
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.routes.params import AnyStock, Brands, Categories, InStockOnly, K
from nextbuy.serving.schemas import (
    INVALID,
    BatchRecommendRequest,
    BatchRecommendResponse,
    ErrorMessage,
    RecommendOptions,
    RecommendRequest,
    RecommendResponse,
)
from nextbuy.serving.service import Options
from nextbuy.serving.settings import ServingSettings

router = APIRouter(prefix="/recommend", tags=["recommendations"], responses=INVALID)


def to_options(body: RecommendOptions, settings: ServingSettings) -> Options:
    """The service's options from a validated body, checking the server's own k limit."""
    k = body.n_recommendations
    if k > settings.max_k:
        raise HTTPException(422, detail=f"n_recommendations must be at most {settings.max_k}")
    return Options(
        k=k,
        exclude_seen=body.exclude_seen,
        exclude_item_ids=body.exclude_item_ids,
        categories=body.categories,
        brands=body.brands,
        in_stock_only=body.in_stock_only,
        include_out_of_stock=body.include_out_of_stock,
        explain=body.explain,
    )


@router.post(
    "",
    response_model=RecommendResponse,
    summary="Recommend items to one user",
)
async def recommend(body: RecommendRequest, service: Service) -> ORJSONResponse:
    """Top items for `user_id`, best first, with the filters applied.

    A user the model has never seen gets the most popular items that pass the filters, with
    `strategy: "fallback"`. Items the user already interacted with are left out unless
    `exclude_seen` is false.
    """
    return ORJSONResponse(
        await service.recommend_async(body.user_id, to_options(body, service.settings))
    )


# The seed's path with a trailing slash answers too (no redirect: POST bodies would be lost).
router.add_api_route(
    "/",
    recommend,
    methods=["POST"],
    response_model=RecommendResponse,
    include_in_schema=False,
)


@router.post(
    "/batch",
    response_model=BatchRecommendResponse,
    summary="Recommend items to many users",
    responses={
        413: {"model": ErrorMessage, "description": "More users than the batch limit."},
    },
)
def recommend_batch(body: BatchRecommendRequest, service: Service) -> ORJSONResponse:
    """One answer per user in `user_ids`, in the same order (up to 1,000 users).

    Known users are scored together, which is much cheaper per user than one call each.
    """
    if len(body.user_ids) > service.settings.max_batch_users:
        raise HTTPException(
            413,
            detail=f"{len(body.user_ids)} users in one batch; the limit is "
            f"{service.settings.max_batch_users}, split the request",
        )
    return ORJSONResponse(
        service.recommend_batch(body.user_ids, to_options(body, service.settings))
    )


@router.get(
    "/{user_id}",
    response_model=RecommendResponse,
    summary="Recommend items to one user (query form)",
)
async def recommend_get(
    user_id: Annotated[
        str,
        Path(max_length=256, description="The shop's user ID.", examples=["u_00042"]),
    ],
    service: Service,
    k: K = 10,
    category: Categories = None,
    brand: Brands = None,
    in_stock_only: InStockOnly = False,
    exclude_seen: Annotated[
        bool, Query(description="Leave out items the user already had.", examples=[True])
    ] = True,
    exclude: Annotated[
        list[str] | None,
        Query(description="Item IDs never to return (repeatable).", examples=[["p_00007"]]),
    ] = None,
    include_out_of_stock: AnyStock = False,
    explain: Annotated[
        bool,
        Query(description="Add the past items behind each item (`because`).", examples=[False]),
    ] = False,
) -> ORJSONResponse:
    """The same answer as `POST /recommend`, for clients that prefer a GET."""
    body = RecommendOptions(
        n_recommendations=k,
        exclude_seen=exclude_seen,
        exclude_item_ids=exclude or [],
        categories=category,
        brands=brand,
        in_stock_only=in_stock_only,
        include_out_of_stock=include_out_of_stock,
        explain=explain,
    )
    return ORJSONResponse(
        await service.recommend_async(user_id, to_options(body, service.settings))
    )
