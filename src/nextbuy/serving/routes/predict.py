"""Rating prediction: ``POST /predict/rating`` (explicit models rate, implicit ones score)."""

from __future__ import annotations

from fastapi import APIRouter

from nextbuy.serving.deps import Service
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import INVALID, NOT_FOUND
from nextbuy.serving.schemas.predict import RatingRequest, RatingResponse

router = APIRouter(prefix="/predict", tags=["predictions"], responses=INVALID)


@router.post(
    "/rating",
    response_model=RatingResponse,
    summary="Predict how a user rates an item",
    responses=NOT_FOUND,
)
async def predict_rating(body: RatingRequest, service: Service) -> ORJSONResponse:
    """Explicit models answer a rating on the data's scale, clipped to its range.

    Implicit models answer a score (`kind: "score"`), meaningful only relative to other
    scores. Unknown users get the item's mean rating (or its popularity) as a `fallback`.
    """
    return ORJSONResponse(service.predict(body.user_id, body.item_id))


router.add_api_route(
    "/rating/",
    predict_rating,
    methods=["POST"],
    response_model=RatingResponse,
    include_in_schema=False,
)
