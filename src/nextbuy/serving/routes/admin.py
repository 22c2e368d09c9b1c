"""Admin routes (API key required): ``POST /admin/reload`` swaps in the version LATEST names."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request

from nextbuy.errors import NextBuyError
from nextbuy.serving.deps import ApiKey, Service
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas import INVALID, ErrorMessage, ReloadResponse

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ApiKey], responses=INVALID)

_AUTH = {
    401: {"model": ErrorMessage, "description": "No X-API-Key header."},
    403: {"model": ErrorMessage, "description": "Wrong key, or no key configured (disabled)."},
}


@router.post(
    "/reload",
    response_model=ReloadResponse,
    summary="Serve the latest model version",
    responses={
        **_AUTH,
        409: {"model": ErrorMessage, "description": "The new version cannot be loaded."},
    },
)
def reload(service: Service, request: Request) -> ORJSONResponse:
    """Load the version LATEST names and swap it in atomically.

    Requests already running finish on the old model; none fails. If the new version cannot
    be loaded the old one keeps serving and the answer says why.
    """
    metrics = request.app.state.metrics
    start = time.perf_counter()
    before = service.state.version if service.ready else None
    try:
        previous, new = service.load()
    except NextBuyError as exc:
        metrics.reloads.labels("failed").inc()
        raise HTTPException(409, detail=f"reload failed, still serving {before}: {exc}") from None
    from nextbuy.serving.app import announce_reload

    announce_reload(service.settings.reload_signal, new.artifact.path)
    changed = previous is not new
    metrics.reloads.labels("loaded" if changed else "unchanged").inc()
    return ORJSONResponse(
        {
            "previous_version": None if previous is None else previous.version,
            "version": new.version,
            "changed": changed,
            "seconds": round(time.perf_counter() - start, 4),
        }
    )
