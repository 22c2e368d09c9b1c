"""Catalog writes: the fields of an item to set, a batch of items, the outcome."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from nextbuy.data.idrules import check_text
from nextbuy.serving.schemas.common import (
    ModelVersion,
    RequestSchema,
    ResponseSchema,
    WrittenItemId,
)
from nextbuy.serving.schemas.events import finite


class ItemChange(RequestSchema):
    """Fields of a catalog item to set; fields left out (or null) keep their value."""

    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")

    name: str | None = Field(
        default=None,
        max_length=1000,
        description="Display name.",
        examples=["Trail Ultralight 2P Tent"],
    )
    brand: str | None = Field(
        default=None, max_length=256, description="Brand.", examples=["Trailblazer"]
    )
    category: str | None = Field(
        default=None, max_length=256, description="Category.", examples=["Camping"]
    )
    price: float | None = Field(
        default=None, ge=0, le=1e12, description="Price (0 to 1e12).", examples=[249.0]
    )
    in_stock: bool | None = Field(
        default=None,
        description="False: left out of answers unless a request asks for out-of-stock items.",
        examples=[True],
    )
    hidden: bool | None = Field(
        default=None, description="True: never recommended.", examples=[False]
    )
    deleted: bool | None = Field(
        default=None,
        description="True: gone from the catalog, never recommended.",
        examples=[False],
    )

    _finite = field_validator("price")(finite)
    _text = field_validator("name", "brand", "category")(check_text)


class CatalogItem(ItemChange):
    """One item of ``POST /items``: its ID and the fields to set."""

    item_id: WrittenItemId = Field(examples=["p_09999"])


class CatalogBatch(RequestSchema):
    """Body of ``POST /items`` (a bare list works too)."""

    items: list[CatalogItem] = Field(
        description="Up to 10,000 items, applied together or not at all.",
        examples=[
            [
                {"item_id": "p_09999", "name": "2P Tent", "category": "Camping", "price": 249},
                {"item_id": "p_00007", "in_stock": False},
            ]
        ],
    )


class CatalogUpdated(ResponseSchema):
    """Outcome of a committed catalog change."""

    received: int = Field(description="Items in the request.", examples=[2])
    new_items: int = Field(
        description="Items the served model did not know before (scored from attributes).",
        examples=[1],
    )
    catalog_version: int = Field(
        description="Counts catalog changes applied since the model was loaded.", examples=[7]
    )
    model_version: ModelVersion
