"""Event ingestion: ``POST /events`` stores interactions durably and applies them at once."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
from fastapi import APIRouter, HTTPException, Request

from nextbuy.serving.event_schemas import (
    EventBatch,
    EventsStored,
    RowErrors,
    batch_rows,
    validate_rows,
)
from nextbuy.serving.online import OnlineLayer, StoreUnavailableError, event_weights_error
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas import ErrorMessage

router = APIRouter(tags=["events"])

#: Invalid rows listed in one 422 answer (the count covers them all).
MAX_LISTED_ERRORS = 1000


def online_layer(request: Request) -> OnlineLayer:
    """The app's online layer; 503 when the server runs read-only."""
    online = getattr(request.app.state, "online", None)
    if online is None or online.store is None:
        raise StoreUnavailableError(
            "this server records no events or catalog changes (NEXTBUY_ONLINE=false)"
        )
    return online


async def read_rows(request: Request, key: str, limit: int) -> list[Any]:
    """The rows of a write body (a batch object, a bare list or one row); 413 over ``limit``."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(422, detail="the body is not valid JSON") from None
    rows = batch_rows(body, key)  # type: ignore[arg-type]
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


@router.post(
    "/events",
    response_model=EventsStored,
    summary="Record interactions",
    responses={
        413: {"model": ErrorMessage, "description": "More events than the batch limit."},
        422: {"model": RowErrors, "description": "Invalid rows (index and field): none stored."},
        503: {"model": ErrorMessage, "description": "The event store is down: none stored."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EventBatch.model_json_schema()}},
        }
    },
)
async def post_events(request: Request) -> ORJSONResponse:
    """Store one event, a list of events or `{"events": [...]}` (up to 10,000).

    **All or nothing**: every row is validated first; if any is invalid the answer is 422
    listing each bad row's `index` and `field`, and nothing is stored. A valid batch is
    written in one transaction and the answer comes only after the commit, so an
    acknowledged event survives a crash. Rows whose `event_id` is already stored are skipped
    (`duplicates`): retrying a batch is safe. The user's next recommendation reflects them.
    """
    online = online_layer(request)
    settings = online.settings
    rows = await read_rows(request, "events", settings.max_events_per_request)

    def store() -> ORJSONResponse:
        events, indices, errors = validate_rows(rows, "events")
        errors += _semantic_errors(events, indices, settings.event_weights)
        if errors:
            errors.sort(key=lambda e: e["index"])
            if online.metrics is not None:
                online.metrics.events.labels("rejected").inc(len(rows))
            return refuse(errors, len(rows))
        counts = online.record_events(events)  # type: ignore[arg-type]
        return ORJSONResponse(
            {"received": counts.received, "stored": counts.stored, "duplicates": counts.duplicates}
        )

    return await anyio.to_thread.run_sync(store)


router.add_api_route(
    "/events/", post_events, methods=["POST"], response_model=EventsStored, include_in_schema=False
)


def _semantic_errors(
    events: list[Any], indices: list[int], weights: dict[str, float]
) -> list[dict[str, Any]]:
    """Rules pydantic cannot know: event types the server weighs, rating and value ranges."""
    errors: list[dict[str, Any]] = []
    for index, event in zip(indices, events, strict=True):
        problem = event_weights_error(event.event, weights)
        if problem is not None:
            errors.append(_error(index, "event", problem, "unknown_event"))
        elif event.event == "rating" and event.value is None:
            errors.append(_error(index, "value", "a rating event needs its rating", "missing"))
        elif event.event != "rating" and event.value is not None and event.value <= 0:
            errors.append(_error(index, "value", "must be > 0 (a quantity or strength)", "range"))
    return errors


def _error(index: int, field: str, message: str, kind: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message, "type": kind}


__all__ = ["router", "online_layer", "read_rows", "refuse", "StoreUnavailableError"]
