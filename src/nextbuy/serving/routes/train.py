"""Training routes (API key required): ``POST /train`` starts a job, ``GET /train/{id}`` polls."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from nextbuy.errors import NextBuyError
from nextbuy.serving.deps import ApiKey, Jobs, Service, Settings
from nextbuy.serving.jobs import JobBusyError, TrainingJobs
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.admin import TrainJob, TrainRequest
from nextbuy.serving.schemas.common import AUTH, INVALID, error
from nextbuy.serving.service import RecommendationService as ServingService
from nextbuy.serving.settings import ServingSettings

router = APIRouter(
    prefix="/train", tags=["training"], dependencies=[ApiKey], responses=INVALID | AUTH
)


def _server_file(value: str, what: str, settings: ServingSettings) -> str:
    """An existing file path, inside ``settings.data_dir`` when one is configured."""
    try:
        resolved = FilePath(value).expanduser().resolve()
        exists = resolved.exists()
    except (OSError, ValueError, RuntimeError):  # NUL bytes, names too long, symlink loops
        raise HTTPException(422, detail=f"{what} is not a usable file path") from None
    if settings.data_dir is not None:
        root = settings.data_dir.resolve()
        if not resolved.is_relative_to(root):
            raise HTTPException(422, detail=f"{what} {value!r} is outside the data folder {root}")
    if not exists:
        raise HTTPException(422, detail=f"{what} {value!r} does not exist on the server")
    return str(resolved)


@router.post(
    "",
    status_code=202,
    response_model=TrainJob,
    summary="Train a new model version in the background",
    responses=error(409, "A training job is already running."),
)
def post_train(
    service: Service, settings: Settings, jobs: Jobs, body: TrainRequest | None = None
) -> ORJSONResponse:
    """Answers 202 with a job ID at once; training runs in a separate process.

    An empty body retrains the served model: its family, parameters, data file, catalog and
    column mapping (from its manifest), plus every stored event. Fields given override those.
    The new version is saved under MODELS_DIR/NAME and named by LATEST, but the server keeps
    serving the old one until `POST /admin/reload`. One job runs at a time.
    """
    return start_training(body or TrainRequest(), service, settings, jobs)


def start_training(
    body: TrainRequest, service: ServingService, settings: ServingSettings, jobs: TrainingJobs
) -> ORJSONResponse:
    """Resolve ``body`` against the served model and submit the job (the route and the UI)."""
    from nextbuy.models import registry
    from nextbuy.retraining import COLUMN_FIELDS, plan_retrain
    from nextbuy.serving.online import default_database_url

    snapshot = service.snapshot
    manifest = snapshot.artifact.manifest
    try:
        model = body.model or str(manifest.get("model") or snapshot.name)
        registry.get(model)(**body.params)
    except NextBuyError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise HTTPException(422, detail=f"invalid params for {model!r}: {exc}") from None
    # retraining the served model (no file given) adds the stored events; a given file alone
    use_events = body.events if body.events is not None else settings.online and body.data is None
    events_url = None
    if use_events:
        events_url = settings.database_url or default_database_url(settings.model_dir)
    try:
        plan = plan_retrain(
            manifest,
            snapshot.name,
            data=None if body.data is None else _server_file(body.data, "data", settings),
            items=None if body.items is None else _server_file(body.items, "items", settings),
            model=model,
            name=body.name,
            params=body.params,
            columns={key: getattr(body, key) for key in COLUMN_FIELDS},
            split=body.split,
            test_fraction=body.test_fraction,
            database_url=events_url,
        )
    except NextBuyError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if body.data is None and plan.data is not None:
        plan.data = _server_file(plan.data, "the served model's data file", settings)
    request = {
        **body.model_dump(exclude_none=True),
        "data": plan.data,
        "items": plan.items,
        "model": plan.model,
        "name": plan.name,
        "params": plan.params,
        "events": events_url is not None,
    }
    private = {"config": plan.config.model_dump(mode="json"), "database_url": events_url}
    try:
        job = jobs.submit(request, out=snapshot.artifact.path.parent.parent, private=private)
    except JobBusyError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return ORJSONResponse(job, status_code=202, headers={"Location": job["status_url"]})


@router.get(
    "",
    status_code=202,
    response_model=TrainJob,
    summary="Retrain the served model (the seed's bare GET /train)",
    responses=error(409, "A training job is already running."),
)
def retrain_served(service: Service, settings: Settings, jobs: Jobs) -> ORJSONResponse:
    """`POST /train` with an empty body: the seed's `curl /train` keeps working (API key)."""
    return start_training(TrainRequest(), service, settings, jobs)


@router.get(
    "/{job_id}",
    response_model=TrainJob,
    summary="State of a training job",
    responses=error(404, "No such job."),
)
async def get_job(
    job_id: Annotated[
        str, Path(max_length=64, description="ID from POST /train.", examples=["6f1c2a9b0d3e"])
    ],
    jobs: Jobs,
) -> ORJSONResponse:
    """Status, progress, metrics and the new version once it has finished."""
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, detail=f"no training job {job_id!r}")
    return ORJSONResponse(job)
