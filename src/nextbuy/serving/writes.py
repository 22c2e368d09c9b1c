"""Rows of the write bodies (events, catalog items): body shapes, per-row checks, refusals.

A write is all or nothing: every row is checked first, and one invalid row refuses the batch
with a 422 naming each bad row's index and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

from nextbuy.serving.history import RATING
from nextbuy.serving.openapi import inline_defs
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.catalog import CatalogItem
from nextbuy.serving.schemas.common import ValidationErrorMessage, error
from nextbuy.serving.schemas.events import Event, RowErrors

#: Invalid rows listed in one 422 answer (the count covers them all).
MAX_LISTED_ERRORS = 1000

Rows = Literal["events", "items"]
#: A refused batch: invalid rows (index and field), or a body that is not a JSON batch.
BatchInvalid = RowErrors | ValidationErrorMessage
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "events": TypeAdapter(Event),
    "items": TypeAdapter(CatalogItem),
}


def batch_docs(body: type[BaseModel], rows: Rows, outcome: str, down: str) -> dict[str, Any]:
    """Route keywords documenting a batch write: the body (read by hand) and its errors."""
    content = {"application/json": {"schema": inline_defs(body.model_json_schema())}}
    return {
        "responses": error(413, f"More {rows} than the batch limit.")
        | error(415, "The body is not declared `Content-Type: application/json`.")
        | error(422, f"Invalid rows (index and field), or no JSON: none {outcome}.", BatchInvalid)
        | error(503, f"The event store is down: {down}."),
        "openapi_extra": {"requestBody": {"required": True, "content": content}},
    }


def batch_rows(body: Any, key: Rows) -> list[Any] | None:
    """The rows of a write body: ``{key: [...]}``, a bare list, or one object (None: neither)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if key in body and isinstance(body[key], list) and len(body) == 1:
            return body[key]
        return [body]
    return None


def require_json(request: Request) -> None:
    """415 unless the body is declared ``application/json``: a text/plain or form body is a
    cross-site "simple" request a web page can send without a CORS preflight."""
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise HTTPException(
            415,
            detail=f"Content-Type must be application/json, not {media or 'missing'!r}",
        )


async def read_rows(request: Request, key: Rows, limit: int) -> list[Any]:
    """The rows of a write body (a batch object, a bare list or one row); 413 over ``limit``."""
    require_json(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise body_error(f"the body is not valid JSON ({exc.msg})", "json_invalid") from None
    rows = batch_rows(body, key)
    if rows is None:
        raise body_error(f'send one object, a list of objects, or {{"{key}": [...]}}', "shape")
    if not rows:
        raise body_error(f"no {key} in the body", "empty")
    if len(rows) > limit:
        raise HTTPException(
            413, detail=f"{len(rows):,} {key} in one request; the limit is {limit:,}, split it"
        )
    return rows


def validate_rows(rows: list[Any], key: Rows) -> tuple[list[Any], list[int], list[dict[str, Any]]]:
    """Each row checked on its own: (valid rows, their indices, errors naming row and field)."""
    adapter = _ADAPTERS[key]
    valid: list[Any] = []
    indices: list[int] = []
    errors: list[dict[str, Any]] = []
    for index, row in enumerate(rows):  # per row: each error must name its row
        try:
            valid.append(adapter.validate_python(row))
            indices.append(index)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                field = ".".join(str(p) for p in err.get("loc", ())) or "row"
                errors.append(_error(index, field, err.get("msg", "invalid"), err["type"]))
    return valid, indices, errors


def validate_events(
    rows: list[Any], weights: Mapping[str, float], limits: ValueLimits | None = None
) -> tuple[list[Event], list[dict[str, Any]]]:
    """Valid events and the errors of every row, including what pydantic cannot know: event
    types the server weighs, a rating's value, bounded positive strengths."""
    limits = limits or ValueLimits()
    events, indices, errors = validate_rows(rows, "events")
    for index, event in zip(indices, events, strict=True):
        problem = event_type_error(event.event, weights)
        if problem is not None:
            errors.append(_error(index, "event", problem, "unknown_event"))
        elif event.event == RATING and event.value is None:
            errors.append(_error(index, "value", "a rating event needs its rating", "missing"))
        else:
            problem = value_error(event, limits)
            if problem is not None:
                errors.append(_error(index, "value", problem, "range"))
    errors.sort(key=lambda e: e["index"])
    return events, errors


@dataclass(frozen=True)
class ValueLimits:
    """The accepted values: implicit strengths in (0, max_value], ratings in [low, high]."""

    max_value: float = 1000.0
    rating_range: tuple[float, float] = (1.0, 5.0)


def value_error(event: Event, limits: ValueLimits) -> str | None:
    """Why an event's value is refused (None when it is accepted)."""
    value = event.value
    if event.event == RATING:
        low, high = limits.rating_range
        if value is not None and not low <= value <= high:
            return f"a rating must be between {low:g} and {high:g} (the model's scale)"
        return None
    if value is not None and value <= 0:
        return "must be > 0 (a quantity or strength)"
    if value is not None and value > limits.max_value:
        return f"must be at most {limits.max_value:g} (NEXTBUY_MAX_EVENT_VALUE)"
    return None


def event_type_error(event: str, weights: Mapping[str, float]) -> str | None:
    """Why an event type is refused (None when it is known)."""
    if event == RATING or event in weights:
        return None
    return f"unknown event type {event!r}; expected rating or one of {', '.join(sorted(weights))}"


def refuse(errors: list[dict[str, Any]], n_rows: int) -> ORJSONResponse:
    """422 naming every invalid row (nothing of the batch is stored)."""
    bad = len({e["index"] for e in errors})
    return ORJSONResponse(
        {
            "detail": f"{bad} of {n_rows} rows are invalid; nothing was stored",
            "errors": errors[:MAX_LISTED_ERRORS],
        },
        status_code=422,
    )


def body_error(message: str, kind: str) -> RequestValidationError:
    """A 422 for the body as a whole, with the same ``errors`` list as any other 422."""
    return RequestValidationError([{"loc": ("body",), "msg": message, "type": kind}])


def _error(index: int, field: str, message: str, kind: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message, "type": kind}
