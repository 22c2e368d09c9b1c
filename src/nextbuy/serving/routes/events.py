"""Event ingestion: ``POST /events`` stores interactions durably and applies them at once."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request

from nextbuy.serving.deps import Online, Service, Settings, WriteKey
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import error
from nextbuy.serving.schemas.events import EventBatch, EventsStored
from nextbuy.serving.writes import ValueLimits, batch_docs, read_rows, refuse, validate_events

router = APIRouter(tags=["events"])
_DOCS = batch_docs(EventBatch, "events", "stored", "none stored")
_DOCS["responses"] |= error(401, "NEXTBUY_EVENTS_WRITE_KEY is set and X-Write-Key is missing.")
_DOCS["responses"] |= error(403, "Wrong X-Write-Key.")


@router.post(
    "/events",
    response_model=EventsStored,
    summary="Record interactions",
    dependencies=[WriteKey],
    **_DOCS,
)
async def post_events(
    request: Request, online: Online, settings: Settings, service: Service
) -> ORJSONResponse:
    """Store one event, a list of events or `{"events": [...]}` (up to 10,000).

    **All or nothing**: every row is validated first; if any is invalid the answer is 422
    listing each bad row's `index` and `field`, and nothing is stored. A valid batch is
    written in one transaction and the answer comes only after the commit, so an
    acknowledged event survives a crash. Rows whose `event_id` is already stored are skipped
    (`duplicates`): retrying a batch is safe. The user's next recommendation reflects them.

    The body must be `Content-Type: application/json` (415 otherwise); unknown fields, IDs
    with control characters or `/`, values above NEXTBUY_MAX_EVENT_VALUE and ratings outside
    the model's scale answer 422. With NEXTBUY_EVENTS_WRITE_KEY set, send it in X-Write-Key.
    """
    rows = await read_rows(request, "events", settings.max_events_per_request)
    scale = settings.rating_range or (service.snapshot.rating_range if service.ready else None)
    limits = ValueLimits(settings.max_event_value, scale or (1.0, 5.0))

    def store() -> ORJSONResponse:
        events, errors = validate_events(rows, settings.event_weights, limits)
        if errors:
            online.rejected(len(rows))
            return refuse(errors, len(rows))
        counts = online.record_events(events)
        return ORJSONResponse(
            {"received": counts.received, "stored": counts.stored, "duplicates": counts.duplicates}
        )

    return await anyio.to_thread.run_sync(store)


router.add_api_route(
    "/events/", post_events, methods=["POST"], response_model=EventsStored, include_in_schema=False
)
