"""Event ingestion: one interaction, a batch of them, the outcome and per-row errors."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from nextbuy.serving.schemas.common import (
    RequestSchema,
    ResponseSchema,
    WrittenItemId,
    WrittenUserId,
)

#: Largest epoch second accepted (year 5138): catches millisecond timestamps sent by mistake.
MAX_EPOCH_S = 10**11

EventId = Annotated[str, Field(min_length=1, max_length=128)]


def finite(value: float | None) -> float | None:
    """A validator's check: NaN and infinities are refused."""
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class Event(RequestSchema):
    """One interaction of a user with an item (unknown fields are refused, naming them)."""

    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")

    event_id: EventId | None = Field(
        default=None,
        description="Your ID of the event: a retried post with the same ID is stored once. "
        "Without one the server makes one up, and a retry is stored twice.",
        examples=["evt-20240501-000123"],
    )
    user_id: WrittenUserId
    item_id: WrittenItemId
    event: str = Field(
        default="view",
        min_length=1,
        max_length=64,
        description="Event type: one of the server's event weights (view, cart, purchase, ... "
        "by default) or `rating`.",
        examples=["purchase"],
    )
    value: float | None = Field(
        default=None,
        description="Quantity or strength (> 0 and at most NEXTBUY_MAX_EVENT_VALUE, default "
        "1000; default 1), multiplied by the type's weight; for `rating` events the rating "
        "itself (required, inside the model's rating range or NEXTBUY_RATING_RANGE).",
        examples=[1.0],
    )
    timestamp: int | datetime | None = Field(
        default=None,
        description="When it happened: epoch seconds or ISO 8601; default: when received.",
        examples=[1714560000],
    )

    recommendation_id: str | None = Field(
        default=None,
        max_length=64,
        description="The `recommendation_id` of the answer that showed the item (attribution).",
        examples=["3f2a9c0e8b7d4e1fa0c2b5d6e7f80912"],
    )
    position: int | None = Field(
        default=None, ge=1, le=10_000, description="The item's rank in that answer.",
        examples=[2],
    )  # fmt: skip

    _finite = field_validator("value")(finite)

    @field_validator("timestamp")
    @classmethod
    def _epoch(cls, value: int | datetime | None) -> int | datetime | None:
        if isinstance(value, int) and not 0 <= value <= MAX_EPOCH_S:
            raise ValueError("must be epoch seconds between 0 and 10^11 (not milliseconds)")
        return value


class EventBatch(RequestSchema):
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


class EventsStored(ResponseSchema):
    """Outcome of a committed batch."""

    received: int = Field(description="Events in the request.", examples=[2])
    stored: int = Field(description="Events newly stored.", examples=[2])
    duplicates: int = Field(
        description="Events whose `event_id` was already stored (a retry): skipped.",
        examples=[0],
    )


class RowError(ResponseSchema):
    """One invalid row of a batch."""

    index: int = Field(description="Position of the row in the batch (0-based).", examples=[3])
    field: str = Field(
        description="The field at fault (`row` for the row itself).", examples=["user_id"]
    )
    message: str = Field(description="What is wrong.", examples=["Field required"])
    type: str = Field(description="Error type.", examples=["missing"])


class RowErrors(ResponseSchema):
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
