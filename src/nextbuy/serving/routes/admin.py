"""Admin routes (API key required): ``POST /admin/reload`` swaps in the version LATEST names."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from nextbuy.serving.deps import ApiKey, Service
from nextbuy.serving.errors import ReloadError
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.admin import ReloadResponse
from nextbuy.serving.schemas.common import AUTH, INVALID, error

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ApiKey], responses=INVALID)


@router.post(
    "/reload",
    response_model=ReloadResponse,
    summary="Serve the latest model version",
    responses=AUTH | error(409, "The new version cannot be loaded."),
)
def reload(service: Service) -> ORJSONResponse:
    """Load the version LATEST names and swap it in atomically.

    Requests already running finish on the old model; none fails. If the new version cannot
    be loaded the old one keeps serving and the answer says why.
    """
    try:
        return ORJSONResponse(service.reload())
    except ReloadError as exc:
        raise HTTPException(409, detail=str(exc)) from None
