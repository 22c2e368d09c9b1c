"""Recommendation requests and answers: one user, a batch, the popular list."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.schemas.common import (
    ItemId,
    ModelVersion,
    ResponseSchema,
    Strategy,
    UserId,
)


class RecommendRequest(RecommendOptions):
    """Body of ``POST /recommend``."""

    user_id: UserId


class BatchRecommendRequest(RecommendOptions):
    """Body of ``POST /recommend/batch``: the same options for every user."""

    user_ids: list[UserId] = Field(
        min_length=1,
        description="Users to answer for, in order (at most 1,000 by default, "
        "NEXTBUY_MAX_BATCH_USERS).",
        examples=[["u_00042", "u_00043", "someone_new"]],
    )


class SessionRecommendRequest(RecommendOptions):
    """Body of ``POST /recommend/session``: an anonymous shopper's recent items."""

    items: list[ItemId] = Field(
        max_length=1000,
        description="The session's item IDs, oldest first (views, carts, purchases; repeats "
        "allowed, the latest position counts). Unknown IDs are ignored.",
        examples=[["p_00017", "p_00042", "p_00043"]],
    )
    session_id: UserId | None = Field(
        default=None,
        description="Echoed back as `user_id` in the answer (default `session`); not stored.",
        examples=["s_8f2c"],
    )


class Reason(ResponseSchema):
    """One past item behind a recommendation."""

    item_id: str = Field(description="The past item.", examples=["p_00042"])
    name: str | None = Field(description="Its catalog name.", examples=["Trail sock"])
    contribution: float = Field(
        description="How much it added to the recommended item's score.", examples=[0.41]
    )


class CatalogFields(ResponseSchema):
    """The catalog fields every answer carries for an item (``data.catalog.ITEM_FIELDS``)."""

    item_id: str = Field(description="The item's ID.", examples=["p_01234"])
    name: str | None = Field(description="Catalog name.", examples=["Trail running shoe"])
    brand: str | None = Field(description="Catalog brand.", examples=["Acme"])
    category: str | None = Field(description="Catalog category.", examples=["shoes"])
    price: float | None = Field(description="Catalog price.", examples=[89.9])


class RecommendedItem(CatalogFields):
    """One ranked item, with the catalog fields the model knows (null when unknown)."""

    rank: int = Field(description="Position in the answer, 1 = best.", examples=[1])
    score: float = Field(
        description="The model's score (higher is better; popularity share for fallbacks).",
        examples=[0.8731],
    )
    because: list[Reason] | None = Field(
        default=None,
        description="With `explain`: the user's past items that contributed most, largest first.",
        examples=[[{"item_id": "p_00042", "name": "Trail sock", "contribution": 0.41}]],
    )


#: An item as answers show it, and a whole answer: the examples of the models below.
EXAMPLE_ITEM: dict[str, Any] = {"item_id": "p_01234", "rank": 1, "score": 0.8731}
EXAMPLE_ITEM |= {"name": "Trail running shoe", "brand": "Acme", "category": "shoes", "price": 89.9}
VERSION = "20240501T120000Z-3f2a9c1d"
EXAMPLE_ANSWER: dict[str, Any] = {"user_id": "u_00042", "model_version": VERSION}
EXAMPLE_ANSWER |= {"strategy": "personalized", "recommendations": [EXAMPLE_ITEM]}


class RecommendResponse(ResponseSchema):
    """Recommendations for one user."""

    user_id: str = Field(description="The user asked about.", examples=["u_00042"])
    model_version: ModelVersion
    strategy: Strategy = Field(
        description="`personalized` for known users, `fallback` (popular items) for users the "
        "model has never seen.",
        examples=["personalized"],
    )
    recommendations: list[RecommendedItem] = Field(
        description="Items best first; fewer than asked when filters leave fewer.",
        examples=[[EXAMPLE_ITEM]],
    )
    explain_note: str | None = Field(
        default=None,
        description="With `explain`: why there are no reasons (model, empty history, fallback).",
        examples=["no past items to explain from"],
    )
    recommendation_id: str | None = Field(
        default=None,
        description="This list's ID: send it back with `/events` to attribute clicks and "
        "purchases to it.",
        examples=["3f2a9c0e8b7d4e1fa0c2b5d6e7f80912"],
    )
    variant: str | None = Field(
        default=None,
        description="The A/B-test variant that answered (null: no experiment).",
        examples=["control"],
    )
    experiment_id: str | None = Field(
        default=None, description="The running experiment.", examples=["pop-vs-ease"]
    )


class BatchRecommendResponse(ResponseSchema):
    """One answer per requested user, in request order."""

    model_version: ModelVersion
    results: list[RecommendResponse] = Field(
        description="Answers in the order of `user_ids`.", examples=[[EXAMPLE_ANSWER]]
    )


class PopularResponse(ResponseSchema):
    """The most popular items (the answer new users get)."""

    model_version: ModelVersion
    items: list[RecommendedItem] = Field(
        description="Items by share of training users who interacted with them, best first.",
        examples=[[EXAMPLE_ITEM]],
    )
