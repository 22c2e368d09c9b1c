"""Rows of the write bodies (events, catalog items): body shapes, per-row checks, refusals.

A write is all or nothing: every row is checked first, and one invalid row refuses the batch
with a 422 naming each bad row's index and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson
from fastapi import HTTPException, Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from nextbuy.serving.history import RATING
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.catalog import CatalogItem
from nextbuy.serving.schemas.common import error
from nextbuy.serving.schemas.events import Event, RowErrors

#: Invalid rows listed in one 422 answer (the count covers them all).
MAX_LISTED_ERRORS = 1000

Rows = Literal["events", "items"]
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "events": TypeAdapter(Event),
    "items": TypeAdapter(CatalogItem),
}


def batch_docs(body: type[BaseModel], rows: Rows, outcome: str, down: str) -> dict[str, Any]:
    """Route keywords documenting a batch write: the body (read by hand) and its errors."""
    content = {"application/json": {"schema": body.model_json_schema()}}
    return {
        "responses": error(413, f"More {rows} than the batch limit.")
        | error(422, f"Invalid rows (index and field): none {outcome}.", RowErrors)
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


async def read_rows(request: Request, key: Rows, limit: int) -> list[Any]:
    """The rows of a write body (a batch object, a bare list or one row); 413 over ``limit``."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise HTTPException(422, detail="the body is not valid JSON") from None
    rows = batch_rows(body, key)
    if rows is None:
        raise HTTPException(
            422, detail=f'send one object, a list of objects, or {{"{key}": [...]}}'
        )
    if not rows:
        raise HTTPException(422, detail=f"no {key} in the body")
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
    rows: list[Any], weights: Mapping[str, float]
) -> tuple[list[Event], list[dict[str, Any]]]:
    """Valid events and the errors of every row, including what pydantic cannot know: event
    types the server weighs, a rating's value, positive strengths."""
    events, indices, errors = validate_rows(rows, "events")
    for index, event in zip(indices, events, strict=True):
        problem = event_type_error(event.event, weights)
        if problem is not None:
            errors.append(_error(index, "event", problem, "unknown_event"))
        elif event.event == RATING and event.value is None:
            errors.append(_error(index, "value", "a rating event needs its rating", "missing"))
        elif event.event != RATING and event.value is not None and event.value <= 0:
            errors.append(_error(index, "value", "must be > 0 (a quantity or strength)", "range"))
    errors.sort(key=lambda e: e["index"])
    return events, errors


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


def _error(index: int, field: str, message: str, kind: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message, "type": kind}
