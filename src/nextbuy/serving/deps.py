"""Typed dependencies of the routes: the service, the settings, the jobs and the API-key guard.

They are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its thread pool,
which costs two thread hand-offs per request for what is an attribute lookup.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from nextbuy.serving.jobs import TrainingJobs
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings


async def get_service(request: Request) -> RecommendationService:
    """The app's recommendation service (built by the lifespan)."""
    return request.app.state.service


async def get_settings(request: Request) -> ServingSettings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_jobs(request: Request) -> TrainingJobs:
    """The app's training-job runner."""
    return request.app.state.jobs


Service = Annotated[RecommendationService, Depends(get_service)]
Settings = Annotated[ServingSettings, Depends(get_settings)]
Jobs = Annotated[TrainingJobs, Depends(get_jobs)]


async def require_api_key(
    settings: Settings,
    x_api_key: Annotated[
        str | None,
        Header(
            description="The key configured as NEXTBUY_API_KEY.",
            examples=["change-me-to-a-long-random-string"],
        ),
    ] = None,
) -> None:
    """Let a request through only with the configured key; with none configured, refuse all."""
    if settings.api_key is None or not settings.api_key.get_secret_value():
        raise HTTPException(
            403,
            detail="this endpoint is disabled: the server has no API key configured "
            "(set NEXTBUY_API_KEY and restart to enable it)",
        )
    if x_api_key is None:
        raise HTTPException(401, detail="missing X-API-Key header")
    if not secrets.compare_digest(
        x_api_key.encode("utf-8", "surrogateescape"),
        settings.api_key.get_secret_value().encode("utf-8"),
    ):
        raise HTTPException(403, detail="wrong X-API-Key")


ApiKey = Depends(require_api_key)
