"""Request and response models of the write endpoints: events and catalog changes."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

#: Largest epoch second accepted (year 5138): catches millisecond timestamps sent by mistake.
MAX_EPOCH_S = 10**11


class _Schema(BaseModel):
    # IDs are strings end to end; numbers are read as their decimal text (42 -> "42").
    model_config = ConfigDict(coerce_numbers_to_str=True, protected_namespaces=())


class Event(_Schema):
    """One interaction of a user with an item."""

    event_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Your ID of the event: a retried post with the same ID is stored once. "
        "Without one the server makes one up, and a retry is stored twice.",
        examples=["evt-20240501-000123"],
    )
    user_id: str = Field(
        min_length=1, max_length=256, description="The shop's user ID.", examples=["u_00042"]
    )
    item_id: str = Field(
        min_length=1, max_length=256, description="The shop's item ID.", examples=["p_01234"]
    )
    event: str = Field(
        "view",
        min_length=1,
        max_length=64,
        description="Event type: one of the server's event weights (view, cart, purchase, ... "
        "by default) or `rating`.",
        examples=["purchase"],
    )
    value: float | None = Field(
        None,
        description="Quantity or strength (> 0, default 1), multiplied by the type's weight; "
        "for `rating` events the rating itself (required).",
        examples=[1.0],
    )
    timestamp: int | datetime | None = Field(
        None,
        description="When it happened: epoch seconds or ISO 8601; default: when received.",
        examples=[1714560000],
    )

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("timestamp")
    @classmethod
    def _epoch(cls, value: int | datetime | None) -> int | datetime | None:
        if isinstance(value, int) and not 0 <= value <= MAX_EPOCH_S:
            raise ValueError("must be epoch seconds between 0 and 10^11 (not milliseconds)")
        return value


class EventBatch(_Schema):
    """Body of ``POST /events`` as a batch (a bare list, or one event object, works too)."""

    events: list[Event] = Field(
        description="Up to 10,000 events (NEXTBUY_MAX_EVENTS_PER_REQUEST), stored together "
        "or not at all.",
        examples=[
            [
                {"event_id": "e1", "user_id": "u_00042", "item_id": "p_01234", "event": "view"},
                {"event_id": "e2", "user_id": "u_00042", "item_id": "p_01234", "event": "purchase"},
            ]
        ],
    )


class EventsStored(_Schema):
    """Outcome of a committed batch."""

    received: int = Field(description="Events in the request.", examples=[2])
    stored: int = Field(description="Events newly stored.", examples=[2])
    duplicates: int = Field(
        description="Events whose `event_id` was already stored (a retry): skipped.",
        examples=[0],
    )


class RowError(_Schema):
    """One invalid row of a batch."""

    index: int = Field(description="Position of the row in the batch (0-based).", examples=[3])
    field: str = Field(
        description="The field at fault (`row` for the row itself).", examples=["user_id"]
    )
    message: str = Field(description="What is wrong.", examples=["Field required"])
    type: str = Field(description="Error type.", examples=["missing"])


class RowErrors(_Schema):
    """A batch refused because of invalid rows (422): nothing of it was stored."""

    detail: str = Field(
        description="Summary.", examples=["2 of 1000 rows are invalid; nothing was stored"]
    )
    errors: list[RowError] = Field(
        description="Every invalid row (at most 1,000 listed).",
        examples=[
            [{"index": 3, "field": "user_id", "message": "Field required", "type": "missing"}]
        ],
    )


class ItemChange(_Schema):
    """Fields of a catalog item to set; fields left out (or null) keep their value."""

    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")

    name: str | None = Field(
        None, max_length=1000, description="Display name.", examples=["Trail Ultralight 2P Tent"]
    )
    brand: str | None = Field(None, max_length=256, description="Brand.", examples=["Trailblazer"])
    category: str | None = Field(
        None, max_length=256, description="Category.", examples=["Camping"]
    )
    price: float | None = Field(None, ge=0, description="Price.", examples=[249.0])
    in_stock: bool | None = Field(
        None,
        description="False: left out of answers unless a request asks for out-of-stock items.",
        examples=[True],
    )
    hidden: bool | None = Field(None, description="True: never recommended.", examples=[False])
    deleted: bool | None = Field(
        None, description="True: gone from the catalog, never recommended.", examples=[False]
    )

    @field_validator("price")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class CatalogItem(ItemChange):
    """One item of ``POST /items``: its ID and the fields to set."""

    item_id: str = Field(
        min_length=1, max_length=256, description="The shop's item ID.", examples=["p_09999"]
    )


class CatalogBatch(_Schema):
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


class CatalogUpdated(_Schema):
    """Outcome of a committed catalog change."""

    received: int = Field(description="Items in the request.", examples=[2])
    new_items: int = Field(
        description="Items the served model did not know before (scored from attributes).",
        examples=[1],
    )
    catalog_version: int = Field(
        description="Counts catalog changes applied since the model was loaded.", examples=[7]
    )
    model_version: str = Field(
        description="The model serving them.", examples=["20240501T120000Z-3f2a9c1d"]
    )


Rows = Literal["events", "items"]
_EVENT = TypeAdapter(Event)
_ITEM = TypeAdapter(CatalogItem)


def batch_rows(body: Any, key: Rows) -> list[Any] | None:
    """The rows of a write body: ``{key: [...]}``, a bare list, or one object (None: neither)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if key in body and isinstance(body[key], list) and len(body) == 1:
            return body[key]
        return [body]
    return None


def validate_rows(rows: list[Any], key: Rows) -> tuple[list[Any], list[int], list[dict[str, Any]]]:
    """Each row checked on its own: (valid rows, their indices, errors naming row and field)."""
    adapter = _EVENT if key == "events" else _ITEM
    valid: list[Any] = []
    indices: list[int] = []
    errors: list[dict[str, Any]] = []
    for index, row in enumerate(rows):  # per row: each error must name its row
        try:
            valid.append(adapter.validate_python(row))
            indices.append(index)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                loc = [str(p) for p in err.get("loc", ())]
                errors.append(
                    {
                        "index": index,
                        "field": ".".join(loc) or "row",
                        "message": err.get("msg", "invalid"),
                        "type": err.get("type", "value_error"),
                    }
                )
    return valid, indices, errors
