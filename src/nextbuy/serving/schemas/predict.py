"""Rating prediction: one (user, item) pair in, a rating or a score out."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nextbuy.serving.schemas.common import (
    ItemId,
    ModelVersion,
    RequestSchema,
    ResponseSchema,
    Strategy,
    UserId,
)


class RatingRequest(RequestSchema):
    """Body of ``POST /predict/rating``."""

    user_id: UserId
    item_id: ItemId


class RatingResponse(ResponseSchema):
    """Predicted rating (explicit models) or score (implicit models) of one pair."""

    user_id: str = Field(description="The user asked about.", examples=["u_00042"])
    item_id: str = Field(description="The item asked about.", examples=["p_01234"])
    prediction: float = Field(description="Rating or score (see `kind`).", examples=[4.21])
    kind: Literal["rating", "score"] = Field(
        description="`rating` on the data's scale (explicit models) or a relative `score` "
        "(implicit models: only its order means something).",
        examples=["rating"],
    )
    strategy: Strategy = Field(
        description="`fallback` for unknown users: the item's mean training rating (explicit) "
        "or its popularity share (implicit).",
        examples=["personalized"],
    )
    rating_range: tuple[float, float] | None = Field(
        description="The scale ratings are clipped to (explicit models only).",
        examples=[[1.0, 5.0]],
    )
    clipped: bool = Field(
        description="True when the raw prediction fell outside `rating_range`.",
        examples=[False],
    )
    model_version: ModelVersion
