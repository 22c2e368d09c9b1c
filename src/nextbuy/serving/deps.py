"""Typed dependencies of the routes: everything a route needs comes from here.

The service, the settings, the online layer, the metrics, the jobs, the API-key guard and the
GET forms of the request options. They are ``async def`` on purpose: FastAPI runs plain
``def`` dependencies in its thread pool, which costs two thread hand-offs per request for
what is an attribute lookup.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from nextbuy.serving.errors import StoreUnavailableError
from nextbuy.serving.experiments import ExperimentRouter
from nextbuy.serving.jobs import TrainingJobs
from nextbuy.serving.metrics import ServingMetrics
from nextbuy.serving.online import OnlineLayer
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.query import query_model
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings


async def get_service(request: Request) -> RecommendationService:
    """The app's recommendation service (built by the lifespan)."""
    return request.app.state.service  # type: ignore[no-any-return]


async def get_settings(request: Request) -> ServingSettings:
    """The settings the app was created with."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_jobs(request: Request) -> TrainingJobs:
    """The app's training-job runner."""
    return request.app.state.jobs  # type: ignore[no-any-return]


async def get_metrics(request: Request) -> ServingMetrics:
    """The app's Prometheus metrics."""
    return request.app.state.metrics  # type: ignore[no-any-return]


async def get_online(request: Request) -> OnlineLayer:
    """The app's online layer; 503 when the server runs read-only."""
    online: OnlineLayer | None = request.app.state.online
    if online is None or online.store is None:
        raise StoreUnavailableError(
            "this server records no events or catalog changes (NEXTBUY_ONLINE=false)"
        )
    return online


async def get_experiments(request: Request) -> ExperimentRouter:
    """The app's experiment router (tags answers, picks variants)."""
    return request.app.state.experiments  # type: ignore[no-any-return]


Service = Annotated[RecommendationService, Depends(get_service)]
Experiments = Annotated[ExperimentRouter, Depends(get_experiments)]
Settings = Annotated[ServingSettings, Depends(get_settings)]
Jobs = Annotated[TrainingJobs, Depends(get_jobs)]
Metrics = Annotated[ServingMetrics, Depends(get_metrics)]
Online = Annotated[OnlineLayer, Depends(get_online)]

#: ``GET /recommend/{user_id}``: every option, from the query string.
RecommendQuery = Annotated[RecommendOptions, Depends(query_model(RecommendOptions))]
#: ``GET /popular``: how many, the catalog filters and the stock switches.
PopularQuery = Annotated[
    RecommendOptions,
    Depends(
        query_model(
            RecommendOptions, ("k", "categories", "brands", "in_stock_only", "include_out_of_stock")
        )
    ),
]
#: ``GET /items/{item_id}/similar``: how many, and whether out-of-stock items may come back.
SimilarQuery = Annotated[
    RecommendOptions, Depends(query_model(RecommendOptions, ("k", "include_out_of_stock")))
]


def limit_k(k: int, settings: ServingSettings, name: str = "k") -> None:
    """422 when ``k`` is over the server's own limit (``NEXTBUY_MAX_K``)."""
    if k > settings.max_k:
        raise HTTPException(422, detail=f"{name} must be at most {settings.max_k}")


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


async def require_write_key(
    settings: Settings,
    x_write_key: Annotated[
        str | None,
        Header(
            description="The key configured as NEXTBUY_EVENTS_WRITE_KEY (when one is set).",
            examples=["shop-backend-write-key"],
        ),
    ] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """With a write key configured, let ``POST /events`` through only with it (or the API key)."""
    expected = settings.events_write_key
    if expected is None or not expected.get_secret_value():
        return
    given = x_write_key if x_write_key is not None else x_api_key
    if given is None:
        raise HTTPException(401, detail="missing X-Write-Key header (this server requires one)")
    keys = [expected] + ([settings.api_key] if settings.api_key is not None else [])
    if not any(
        secrets.compare_digest(
            given.encode("utf-8", "surrogateescape"), key.get_secret_value().encode("utf-8")
        )
        for key in keys
        if key.get_secret_value()
    ):
        raise HTTPException(403, detail="wrong X-Write-Key")


WriteKey = Depends(require_write_key)
