"""Recommendation routes: ``POST /recommend``, ``GET /recommend/{user_id}``, batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator

from nextbuy.data.idrules import check_id
from nextbuy.serving.deps import Experiments, RecommendQuery, Service, limit_k
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import INVALID, error
from nextbuy.serving.schemas.recommend import (
    BatchRecommendRequest,
    BatchRecommendResponse,
    RecommendRequest,
    RecommendResponse,
    SessionRecommendRequest,
)

#: Media type of a streamed batch answer, and the users computed per streamed page.
NDJSON = "application/x-ndjson"
STREAM_PAGE = 256

router = APIRouter(prefix="/recommend", tags=["recommendations"], responses=INVALID)


@router.post("", response_model=RecommendResponse, summary="Recommend items to one user")
async def recommend(
    body: RecommendRequest, service: Service, experiments: Experiments
) -> ORJSONResponse:
    """Top items for `user_id`, best first, with the filters applied.

    A user the model has never seen gets the most popular items that pass the filters, with
    `strategy: "fallback"`. Items the user already interacted with are left out unless
    `exclude_seen` is false.
    """
    limit_k(body.k, service.settings, "n_recommendations")
    return ORJSONResponse(await experiments.recommend(body.user_id, body))


# The seed's path with a trailing slash answers too (no redirect: POST bodies would be lost).
router.add_api_route(
    "/", recommend, methods=["POST"], response_model=RecommendResponse, include_in_schema=False
)


@router.post(
    "/batch",
    response_model=BatchRecommendResponse,
    summary="Recommend items to many users",
    responses={
        **error(413, "More users, or users x k, than the batch limits."),
        200: {
            "description": "The answers; with `Accept: application/x-ndjson`, one "
            "`RecommendResponse` per line, in request order.",
            "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/RecommendResponse"}}},
        },
    },
)
def recommend_batch(
    body: BatchRecommendRequest, service: Service, experiments: Experiments, request: Request
) -> Response:
    """One answer per user in `user_ids`, in the same order (up to 1,000 users).

    Users x k is bounded too (100,000 by default, NEXTBUY_MAX_BATCH_ANSWERS): a bigger
    answer is refused with 413 naming the limit.

    Known users are scored together, which is much cheaper per user than one call each. With
    `Accept: application/x-ndjson` the answer streams as one JSON line per user, in order.
    """
    limit = service.settings.max_batch_users
    if len(body.user_ids) > limit:
        raise HTTPException(
            413,
            detail=f"{len(body.user_ids)} users in one batch; the limit is {limit}, "
            "split the request",
        )
    limit_k(body.k, service.settings, "n_recommendations")
    most = service.settings.max_batch_answers
    if len(body.user_ids) * body.k > most:
        raise HTTPException(
            413,
            detail=f"{len(body.user_ids)} users x k={body.k} is {len(body.user_ids) * body.k:,} "
            f"items in one answer; the limit is {most:,} (NEXTBUY_MAX_BATCH_ANSWERS): ask for "
            "fewer users or a smaller k per request",
        )
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(_stream(experiments, body), media_type=NDJSON)
    return ORJSONResponse(experiments.recommend_batch(body.user_ids, body))


def _stream(experiments: Any, body: BatchRecommendRequest) -> Iterator[bytes]:
    """The batch answer as one JSON line per user, computed a page of users at a time (so a
    large answer starts at once and never sits whole in memory); each line names its version."""
    for start in range(0, len(body.user_ids), STREAM_PAGE):
        page = experiments.recommend_batch(body.user_ids[start : start + STREAM_PAGE], body)
        for result in page["results"]:
            yield orjson.dumps({"model_version": page["model_version"], **result}) + b"\n"


@router.post(
    "/session",
    response_model=RecommendResponse,
    summary="Recommend items to an anonymous session",
)
def recommend_session(body: SessionRecommendRequest, service: Service) -> ORJSONResponse:
    """Top items after `items` (the session's recent item IDs, oldest first), for a shopper
    with no account. Sequence models (`sasrec`) use the order; other models fold the items in
    as one history. Rules and filters apply as for `POST /recommend`; the session's items are
    left out unless `exclude_seen` is false. Nothing is stored.
    """
    limit_k(body.k, service.settings, "n_recommendations")
    answer = service.recommend_session(body.items, body, body.session_id or "session")
    return ORJSONResponse(answer)


@router.get(
    "/{user_id}",
    response_model=RecommendResponse,
    summary="Recommend items to one user (query form)",
)
async def recommend_get(
    user_id: Annotated[
        str,
        AfterValidator(check_id),
        Path(max_length=256, description="The shop's user ID.", examples=["u_00042"]),
    ],
    service: Service,
    options: RecommendQuery,
    experiments: Experiments,
) -> ORJSONResponse:
    """The same answer as `POST /recommend`, for clients that prefer a GET."""
    limit_k(options.k, service.settings, "n_recommendations")
    return ORJSONResponse(await experiments.recommend(user_id, options))
