"""The FastAPI app factory: loads the model once (lifespan) and wires routes and middleware."""

from __future__ import annotations

import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

import nextbuy
from nextbuy.serving import openapi
from nextbuy.serving.errors import (
    NoSimilarityError,
    NotReadyError,
    StoreUnavailableError,
    UnknownItemError,
)
from nextbuy.serving.experiments import ExperimentRouter, follow_alias
from nextbuy.serving.fastpath import HotRoutes
from nextbuy.serving.jobs import TrainingJobs
from nextbuy.serving.limits import BodySizeLimitMiddleware
from nextbuy.serving.logging import RequestContextMiddleware, configure_logging, logger
from nextbuy.serving.metrics import CacheMetrics, OnlineMetrics, ServingMetrics
from nextbuy.serving.online import OnlineLayer
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.routes import ROUTERS
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings
from nextbuy.serving.snapshot import Snapshot
from nextbuy.serving.storehealth import StaleHeaderMiddleware
from nextbuy.serving.ui import mount_ui

DESCRIPTION = """
Product recommendations over HTTP. Every answer names the `model_version` that produced it.

* Known users get personalised items (`strategy: "personalized"`); users the model has never
  seen get the most popular items that pass the same filters (`strategy: "fallback"`).
* Unknown items answer 404 with a sentence; invalid bodies and parameters answer 422.
* `POST /events` records interactions durably; the user's next answer reflects them at once.
  Catalog writes (`PUT /items/{id}`, `POST /items`) add new items and hide, delete or mark
  items out of stock; hidden, deleted and out-of-stock items are never recommended.
* `/admin/*`, `/train` and catalog writes need the `X-API-Key` header; with no key configured
  they are off.
* Every answer carries an `X-Request-ID` (yours, when you send one).
"""

TAGS = [
    {"name": "recommendations", "description": "Ranked items for users."},
    {"name": "predictions", "description": "Predicted rating or score of one user-item pair."},
    {"name": "items", "description": "Item details, similar items and popular items."},
    {
        "name": "events",
        "description": "Record interactions (durable, idempotent, applied at once).",
    },
    {"name": "catalog", "description": "Add and change catalog items (API key required)."},
    {"name": "operations", "description": "Health, readiness, model card and metrics."},
    {"name": "admin", "description": "Model reload (API key required)."},
    {"name": "training", "description": "Background training jobs (API key required)."},
]


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: read from ``NEXTBUY_*`` environment variables).

    The model is loaded when the app starts (lifespan), not here, so building an app is cheap
    and a server that cannot load its model fails at start-up, loudly.
    """
    settings = settings or ServingSettings()
    metrics = ServingMetrics()

    def on_load(snapshot: Snapshot) -> None:
        metrics.served(snapshot.name, snapshot.model.name, snapshot.version)
        logger.info(
            "serving %s version %s from %s", snapshot.name, snapshot.version, snapshot.artifact.path
        )

    online_metrics, cache_metrics = OnlineMetrics(metrics), CacheMetrics(metrics)
    online = OnlineLayer(settings, online_metrics) if settings.online else None
    service = RecommendationService(
        settings,
        on_fallback=metrics.fallback,
        on_load=on_load,
        prepare=None if online is None else online.prepare,
        on_reload=metrics.reloaded,
    )
    if online is not None:
        service.before_read = online.before_read
    experiments = ExperimentRouter(service, online)
    if settings.cache_size > 0:
        from nextbuy.serving.cache import AnswerCache

        service.cache = AnswerCache(
            settings.cache_size, settings.cache_ttl_s, on_lookup=cache_metrics.lookup
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        limits = _limit_blas(settings.blas_threads)
        stop = threading.Event()
        try:
            if online is not None:  # the store first: loading applies its catalog and events
                await anyio.to_thread.run_sync(online.open, service)
            # with the store's state, or degraded while the store is down (retried below)
            await anyio.to_thread.run_sync(service.load if online is None else online.load_first)
            _start_experiments(experiments, service, settings, stop)
            if online is not None:  # syncs every sync_interval_s, retries a store that is down
                threading.Thread(
                    target=online.follow, args=(stop,), name="nextbuy-store-sync", daemon=True
                ).start()
            if settings.reload_signal is not None:
                threading.Thread(
                    target=service.follow_reloads,
                    args=(stop,),
                    name="nextbuy-reload-follower",
                    daemon=True,
                ).start()
            # Jobs go next to the models: MODELS_DIR/.jobs (version dir -> NAME -> MODELS_DIR).
            jobs_dir = settings.jobs_dir or service.snapshot.artifact.path.parent.parent / ".jobs"
            app.state.jobs = TrainingJobs(jobs_dir, timeout_s=settings.train_timeout_s)
            yield
        finally:
            stop.set()
            jobs = getattr(app.state, "jobs", None)
            if jobs is not None:
                await anyio.to_thread.run_sync(jobs.shutdown)
            if limits is not None:
                limits.restore_original_limits()
            if online is not None:
                online.close()

    app = FastAPI(
        title="NextBuy",
        version=nextbuy.__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = service
    app.state.online = online
    app.state.experiments = experiments
    for router in ROUTERS:
        app.include_router(router)
    if settings.ui:
        mount_ui(app)
    app.add_exception_handler(UnknownItemError, _unknown_item)
    app.add_exception_handler(NoSimilarityError, _unknown_item)
    app.add_exception_handler(NotReadyError, _not_ready)
    app.add_exception_handler(StoreUnavailableError, _store_unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    openapi.install(app)
    # innermost: the hot routes' plain 200s skip FastAPI's routing, everything else reaches it
    app.add_middleware(
        HotRoutes,
        service=service,
        experiments=experiments,
        routes=[route for router in ROUTERS for route in router.routes],
        handlers=app.exception_handlers,
    )
    if settings.cors_origins:  # off by default: browsers get no CORS headers at all
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Write-Key", "X-Request-ID"],
        )
    # add_middleware wraps: the last added runs first, so request IDs and timing see everything.
    writes = dict.fromkeys(("/events", "/events/", "/items"), settings.max_write_body_bytes)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, overrides=writes)
    if online is not None:
        app.add_middleware(StaleHeaderMiddleware, health=online.health)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, access_log=settings.access_log)
    return app


def _start_experiments(
    experiments: ExperimentRouter,
    service: RecommendationService,
    settings: ServingSettings,
    stop: threading.Event,
) -> None:
    """The impression writer, the experiments' re-reader, and the alias follower of a server
    serving ``NAME@ALIAS``."""
    experiments.open()
    if experiments.log is not None:
        threading.Thread(
            target=experiments.log.run, args=(stop,), name="nextbuy-impressions", daemon=True
        ).start()
        threading.Thread(
            target=experiments.follow, args=(stop,), name="nextbuy-experiments", daemon=True
        ).start()
    if "@" in Path(settings.model_dir).name and settings.follow_interval_s > 0:
        threading.Thread(
            target=follow_alias,
            args=(service, stop, settings.follow_interval_s),
            name="nextbuy-alias-follower",
            daemon=True,
        ).start()


def _limit_blas(threads: int | None) -> Any:
    """Cap BLAS threads for this process (small products lose time to thread hand-offs)."""
    if threads is None:
        return None
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


async def _unknown_item(request: Request, exc: Exception) -> Response:
    return ORJSONResponse({"detail": str(exc.args[0])}, status_code=404)


async def _not_ready(request: Request, exc: Exception) -> Response:
    return ORJSONResponse({"detail": "no model loaded yet; retry shortly"}, status_code=503)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    retry = math.ceil(request.app.state.settings.store_retry_s)
    return ORJSONResponse(
        {"detail": str(exc)}, status_code=503, headers={"Retry-After": str(retry)}
    )


#: FastAPI's answer to a body it cannot decode (not UTF-8, say): a 400 the docs do not know.
_UNPARSEABLE = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors as FastAPI answers them, except that every 422 carries ``errors`` (as
    documented) and an unparseable body is a 422, not FastAPI's undocumented 400."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE:
        message = "the body is not valid UTF-8 JSON"
        errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
        return ORJSONResponse({"detail": f"body: {message}", "errors": errors}, status_code=422)
    if exc.status_code == 422 and isinstance(exc.detail, str):
        errors = [{"loc": ["body"], "msg": exc.detail, "type": "value_error"}]
        return ORJSONResponse(
            {"detail": exc.detail, "errors": errors}, status_code=422, headers=exc.headers
        )
    return await http_exception_handler(request, exc)


async def _invalid(request: Request, exc: Exception) -> Response:
    """422 with pydantic's error list (inputs left out: they may be large or sensitive)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
        for e in errors[:5]
    )
    return ORJSONResponse(
        {"detail": summary or "invalid request", "errors": errors}, status_code=422
    )
