"""Item answers: one item's catalog entry and the items similar to it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from nextbuy.serving.schemas.common import ModelVersion, ResponseSchema
from nextbuy.serving.schemas.recommend import EXAMPLE_ITEM, CatalogFields, RecommendedItem


class SimilarItemsResponse(ResponseSchema):
    """Items similar to one item."""

    item_id: str = Field(description="The item asked about.", examples=["p_01234"])
    model_version: ModelVersion
    method: Literal["cosine", "model", "attributes"] = Field(
        description="`cosine` of the model's item vectors (als, bpr, mf) or the `model`'s own "
        "item-item similarity (knn, ease, popularity); for a new item in a model without "
        "vectors, `attributes` (its attribute weights over the trained items).",
        examples=["cosine"],
    )
    items: list[RecommendedItem] = Field(
        description="Most similar first; the item itself is never included.",
        examples=[[EXAMPLE_ITEM]],
    )
    note: str | None = Field(
        default=None,
        description="Why `items` is empty, when nothing can be said (a new item the model "
        "cannot place: no attribute model).",
        examples=[None],
    )
    recommendation_id: str | None = Field(
        default=None,
        description="This list's ID, for attribution (see `/events`).",
        examples=["3f2a9c0e8b7d4e1fa0c2b5d6e7f80912"],
    )
    variant: str | None = Field(
        default=None, description="Always null: no user, no variant.", examples=[None]
    )


class ItemDetail(CatalogFields):
    """Catalog entry and training statistics of one item."""

    in_stock: bool | None = Field(
        description="Catalog stock flag (null when unknown).", examples=[True]
    )
    hidden: bool = Field(description="Hidden or deleted: never recommended.", examples=[False])
    deleted: bool = Field(description="Deleted from the catalog.", examples=[False])
    new: bool = Field(
        description="Added after the served model was trained (scored from its attributes).",
        examples=[False],
    )
    attributes: dict[str, Any] = Field(
        description="Any other catalog columns.", examples=[{"color": "blue"}]
    )
    n_users: int = Field(
        description="Training users who interacted with the item.", examples=[1532]
    )
    popularity_rank: int = Field(
        description="Rank by `n_users` among all items, 1 = most popular.", examples=[17]
    )
    model_version: ModelVersion
