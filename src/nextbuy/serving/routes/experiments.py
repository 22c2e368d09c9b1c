"""Experiment routes: create and stop (API key), list and the per-variant report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam

from nextbuy.errors import ConfigError
from nextbuy.experiments import manage
from nextbuy.experiments.definition import Experiment
from nextbuy.serving.deps import ApiKey, Online, Service
from nextbuy.serving.experiments import ExperimentRouter
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import AUTH, INVALID, NOT_FOUND, error
from nextbuy.serving.schemas.experiments import ExperimentList, ExperimentOut, ExperimentReport
from nextbuy.store import StoreError
from nextbuy.store.experiments import ExperimentStore

router = APIRouter(prefix="/experiments", tags=["experiments"], responses=INVALID)


async def get_router(request: Request, online: Online) -> ExperimentRouter:
    return request.app.state.experiments  # type: ignore[no-any-return]


Experiments = Annotated[ExperimentRouter, Depends(get_router)]
ExperimentPath = Annotated[
    str, PathParam(max_length=64, description="The experiment's ID.", examples=["pop-vs-ease"])
]


def _store(router_: ExperimentRouter) -> ExperimentStore:
    assert router_.store is not None  # Online (a dependency) answered 503 otherwise
    return router_.store


@router.get("", summary="List experiments", response_model=ExperimentList)
def list_experiments(experiments: Experiments) -> ORJSONResponse:
    """Every experiment of this deployment's data set with its status."""
    rows = [{**e.model_dump(), "status": e.status()} for e in manage.list_all(_store(experiments))]
    return ORJSONResponse({"experiments": rows})


@router.post("", summary="Create an experiment", dependencies=[ApiKey],
             responses=AUTH | error(409, "Another experiment runs, or the ID exists."),
             status_code=201, response_model=ExperimentOut)  # fmt: skip
# (409: another experiment runs, or the ID exists; 422: a variant's model cannot be loaded)
def create_experiment(body: Experiment, experiments: Experiments) -> ORJSONResponse:
    """Start an A/B test: two or more variants (alias or version, rule overrides), a split."""
    try:
        for variant in body.variants:  # every variant's model must load before any user sees it
            experiments.service_for(variant)
        created = manage.create(_store(experiments), body)
    except (ConfigError, StoreError) as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except Exception as exc:  # a variant model that cannot be loaded
        raise HTTPException(422, detail=f"variant model: {exc}") from None
    experiments.refresh()
    return ORJSONResponse({**created.model_dump(), "status": created.status()}, status_code=201)


@router.post("/{experiment_id}/stop", summary="Stop an experiment", dependencies=[ApiKey],
             responses=AUTH | NOT_FOUND, response_model=ExperimentOut)  # fmt: skip
def stop_experiment(experiment_id: ExperimentPath, experiments: Experiments) -> ORJSONResponse:
    """Stop it now: every user gets the served model again (idempotent)."""
    try:
        stopped = manage.stop(_store(experiments), experiment_id)
    except ConfigError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    experiments.refresh()
    return ORJSONResponse({**stopped.model_dump(), "status": stopped.status()})


@router.get("/{experiment_id}", summary="Per-variant report", responses=NOT_FOUND,
            response_model=ExperimentReport)  # fmt: skip
def report(
    experiment_id: ExperimentPath,
    experiments: Experiments,
    service: Service,
    window_s: Annotated[
        float,
        Query(gt=0, le=90 * 86400, description="Attribution window in seconds.", examples=[86400]),
    ] = 24 * 3600,
) -> ORJSONResponse:
    """Users, impressions, rates with 95% intervals, revenue, latency, z-tests, SRM, verdict."""
    try:
        out: dict[str, Any] = manage.report(
            _store(experiments), experiment_id, window_s, _prices(service)
        )
    except ConfigError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return ORJSONResponse(out)


def _prices(service: Any) -> dict[str, float]:
    catalog = service.snapshot.artifact.catalog
    if catalog is None or "price" not in catalog.columns:
        return {}
    known = catalog[catalog["price"].notna()]
    return dict(zip(known["item_id"].astype(str), known["price"].astype(float), strict=True))
