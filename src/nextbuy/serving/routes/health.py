"""Operations routes: liveness, readiness, the model card and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from nextbuy.serving.deps import Metrics, Service
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import error
from nextbuy.serving.schemas.operations import Health, ModelCard, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health, summary="Liveness")
async def health() -> ORJSONResponse:
    """Answers while the process is up, model or not."""
    return ORJSONResponse({"status": "ok"})


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness",
    responses=error(503, "No model loaded yet.", Readiness),
)
async def ready(service: Service, request: Request) -> ORJSONResponse:
    """200 once a model is loaded (send traffic), 503 before; `store` says whether writes
    work (reads answer from the model while the store is down)."""
    online = request.app.state.online
    store = {"state": "off", "writes": False, "stale": False, "down_s": None}
    if online is not None:
        store = online.health.readiness()
    if not service.ready:
        return ORJSONResponse(
            {"status": "loading", "model_version": None, "store": store}, status_code=503
        )
    return ORJSONResponse(
        {"status": "ready", "model_version": service.snapshot.version, "store": store}
    )


@router.get("/model", response_model=ModelCard, summary="The model being served")
async def model_card(service: Service) -> ORJSONResponse:
    """Algorithm, version, training date, hyper-parameters and held-out metrics."""
    return ORJSONResponse(service.model_card())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(metrics: Metrics) -> Response:
    """Requests and latency per route, fallbacks, reloads and the served model version."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
