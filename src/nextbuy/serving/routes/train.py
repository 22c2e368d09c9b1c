"""Training routes (API key required): ``POST /train`` starts a job, ``GET /train/{id}`` polls."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from nextbuy.data.datasets import dataset_of
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


def data_folder(settings: ServingSettings, models_dir: FilePath) -> FilePath:
    """The folder /train may read: NEXTBUY_DATA_DIR, else MODELS_DIR's sibling ``data``."""
    return (settings.data_dir or models_dir.parent / "data").resolve()


def _server_file(value: str, what: str, root: FilePath) -> str:
    """The path inside ``root`` (resolved once, here); 422 for anything else.

    Paths outside the folder are refused before the file system is asked, so an answer never
    says whether a file exists elsewhere on the server; messages name the path as given.
    """
    try:
        given = FilePath(value).expanduser()
        # relative: to the data folder, or to the server's working directory (data/shop/x.csv
        # from the project folder) as long as that lands inside the data folder too
        bases = [given] if given.is_absolute() else [root / given, given.absolute()]
        candidates = [path.resolve() for path in bases]
    except (OSError, ValueError, RuntimeError):  # NUL bytes, names too long, symlink loops
        raise HTTPException(422, detail=f"{what} is not a usable file path") from None
    inside = [path for path in candidates if path.is_relative_to(root)]
    resolved = next((path for path in inside if _is_file(path)), inside[0] if inside else None)
    if resolved is None:
        raise HTTPException(
            422,
            detail=f"{what} {value!r} is outside the data folder (NEXTBUY_DATA_DIR); put the "
            "file there and name it relative to that folder",
        )
    if not _is_file(resolved):
        raise HTTPException(422, detail=f"{what} {value!r} does not exist in the data folder")
    return str(resolved)


def _is_file(path: FilePath) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


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
    serving the old one until `POST /admin/reload`. One job runs at a time. `data` and
    `items` are files inside the server's data folder (NEXTBUY_DATA_DIR, default the models
    folder's sibling `data`), absolute or relative to it; anything else answers 422.
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
    models_dir = snapshot.artifact.path.parent.parent
    root = data_folder(settings, models_dir)
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
            data=None if body.data is None else _server_file(body.data, "data", root),
            items=None if body.items is None else _server_file(body.items, "items", root),
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
        plan.data = _server_file(plan.data, "the served model's data file", root)
    files = {"data": plan.data, "items": plan.items}  # resolved: for the child only
    request = {
        **body.model_dump(exclude_none=True),
        "data": body.data if body.data is not None else _as_given(plan.data, "data"),
        "items": body.items if body.items is not None else _as_given(plan.items, "items"),
        "model": plan.model,
        "name": plan.name,
        "params": plan.params,
        "events": events_url is not None,
        # the new version belongs to the served model's data set (issue 11.4)
        "dataset": dataset_of(manifest),
    }
    private = {"config": plan.config.model_dump(mode="json"), "database_url": events_url}
    try:
        job = jobs.submit(request, out=models_dir, files=files, private=private)
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


def _as_given(path: str | None, what: str) -> str | None:
    """What a client sees for a file the served model recorded: its name, not the server path."""
    return None if path is None else f"the served model's {what} ({FilePath(path).name})"
