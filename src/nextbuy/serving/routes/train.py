"""Training routes (API key required): ``POST /train`` starts a job, ``GET /train/{id}`` polls."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from nextbuy.data.datasets import dataset_of
from nextbuy.errors import NextBuyError
from nextbuy.serving.deps import ApiKey, Jobs, Service, Settings
from nextbuy.serving.jobs import JobBusyError
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.admin import TrainJob, TrainRequest
from nextbuy.serving.schemas.common import AUTH, INVALID, error
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
def start_training(
    body: TrainRequest, service: Service, settings: Settings, jobs: Jobs
) -> ORJSONResponse:
    """Answers 202 with a job ID at once; training runs in a separate process.

    The new version is saved under MODELS_DIR/NAME and named by LATEST, but the server keeps
    serving the old one until `POST /admin/reload`. One job runs at a time.
    """
    from nextbuy.models import registry

    try:
        registry.get(body.model)(**body.params)
    except NextBuyError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise HTTPException(422, detail=f"invalid params for {body.model!r}: {exc}") from None
    snapshot = service.snapshot
    request = {
        **body.model_dump(),
        "data": _server_file(body.data, "data", settings),
        "items": None if body.items is None else _server_file(body.items, "items", settings),
        "name": body.name or snapshot.name,
        # the new version belongs to the served model's data set (issue 11.4)
        "dataset": dataset_of(snapshot.artifact.manifest),
    }
    try:
        job = jobs.submit(request, out=snapshot.artifact.path.parent.parent)
    except JobBusyError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return ORJSONResponse(job, status_code=202, headers={"Location": job["status_url"]})


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
