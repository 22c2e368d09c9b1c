"""Event ingestion: ``POST /events`` stores interactions durably and applies them at once."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request

from nextbuy.serving.deps import Online, Settings
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.events import EventBatch, EventsStored
from nextbuy.serving.writes import batch_docs, read_rows, refuse, validate_events

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    response_model=EventsStored,
    summary="Record interactions",
    **batch_docs(EventBatch, "events", "stored", "none stored"),
)
async def post_events(request: Request, online: Online, settings: Settings) -> ORJSONResponse:
    """Store one event, a list of events or `{"events": [...]}` (up to 10,000).

    **All or nothing**: every row is validated first; if any is invalid the answer is 422
    listing each bad row's `index` and `field`, and nothing is stored. A valid batch is
    written in one transaction and the answer comes only after the commit, so an
    acknowledged event survives a crash. Rows whose `event_id` is already stored are skipped
    (`duplicates`): retrying a batch is safe. The user's next recommendation reflects them.
    """
    rows = await read_rows(request, "events", settings.max_events_per_request)

    def store() -> ORJSONResponse:
        events, errors = validate_events(rows, settings.event_weights)
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
