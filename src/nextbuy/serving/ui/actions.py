"""The dashboard's writes: log in and out, start a training job, watch it, promote a version.

Starting a job goes through the same function as ``POST /train`` and polling reads the same
job state as ``GET /train/{id}``; writes need a logged-in session and its CSRF token, and
refuse requests from another origin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from nextbuy.serving.deps import Jobs, Service, Settings
from nextbuy.serving.jobs import TrainingJobs
from nextbuy.serving.routes.train import start_training
from nextbuy.serving.schemas.admin import TrainRequest
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.ui import views
from nextbuy.serving.ui.auth import (
    COOKIE,
    SESSION_MAX_AGE_S,
    AnyAccess,
    Reader,
    Writer,
    check_key,
    new_session,
)
from nextbuy.serving.ui.forms import read_form
from nextbuy.serving.ui.lifecycle import PromotionError, promote
from nextbuy.serving.ui.templating import render

router = APIRouter(prefix="/ui", include_in_schema=False)


def same_origin(request: Request) -> None:
    """403 for a POST whose Origin (or Referer) names another host than the one it reached."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, detail="cross-origin form posts are refused")


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a dashboard path, never another site."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# ---------------------------------------------------------------------- login
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, access: AnyAccess, next: str = "/ui") -> HTMLResponse:
    """The key form (or a note that no key is configured)."""
    return render(
        request, "login.html", access=access, active="", next=_safe_next(next), error=None
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, access: AnyAccess, settings: Settings) -> Response:
    """Check the key once; on success set the session cookie and go on."""
    same_origin(request)
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    if not check_key(settings, form.get("api_key", "")):
        error = "wrong key" if access.key_configured else None
        return render(request, "login.html", access=access, active="", next=target,
                      error=error, status_code=401)  # fmt: skip
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, new_session(settings), max_age=SESSION_MAX_AGE_S, httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/ui",
    )  # fmt: skip
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the session cookie."""
    same_origin(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


# ---------------------------------------------------------------------- training
def training_defaults(service: RecommendationService) -> dict[str, Any]:
    """What the served model was trained with: the form's placeholders (blank fields keep it)."""
    manifest = service.snapshot.artifact.manifest
    data = manifest.get("data") or {}
    source = str(data.get("source") or "")
    items = data.get("items")
    if not items and source:
        sibling = Path(source).with_name("items.csv")
        items = str(sibling) if sibling.is_file() else ""
    split = (manifest.get("config") or {}).get("split") or {}
    return {
        "data": source,
        "catalog": items or "",
        "model": str(manifest.get("model") or service.snapshot.model.name),
        "split": split.get("method", "random"),
        "test_fraction": split.get("test_fraction", 0.2),
        "params": json.dumps(manifest.get("params") or {}),
    }


def training_request(form: dict[str, str]) -> TrainRequest:
    """The form as a ``POST /train`` body: a blank field is an absent one, so the untouched
    form retrains the served model on its data plus the stored events (as an empty body)."""
    given = {key: value.strip() for key, value in form.items() if value.strip()}
    fraction = given.get("test_fraction")
    return TrainRequest(
        data=given.get("data"), items=given.get("items"), model=given.get("model"),
        split=given.get("split"),  # type: ignore[arg-type]
        test_fraction=None if fraction is None else float(fraction),
        params=json.loads(given.get("params", "{}")),
    )  # fmt: skip


def job_context(jobs: TrainingJobs, service: RecommendationService, job_id: str) -> dict[str, Any]:
    """A job's state and, once it succeeded, its metrics beside the served version's."""
    job = jobs.get(job_id)
    if job is None:
        return {"job": None, "job_error": f"no training job {job_id!r}"}
    served = service.model_card()
    rows = []
    if job["status"] == "succeeded":
        for name, (old, new) in views.metric_rows(served["metrics"], job.get("metrics") or {}):
            rows.append(
                {"name": name, "served": old, "new": new, "verdict": views.better(name, new, old)}
            )
    return {"job": job, "served": served, "compare": rows, "job_error": None}


@router.post("/training", response_class=HTMLResponse)
async def start(
    request: Request, access: Writer, service: Service, settings: Settings, jobs: Jobs
) -> Response:
    """Start a job from the form (the ``POST /train`` path) and show its progress."""
    same_origin(request)
    form = await read_form(request)
    try:
        body = training_request(form)
        job = await anyio.to_thread.run_sync(start_training, body, service, settings, jobs)
    except (ValidationError, ValueError, TypeError) as exc:
        return render(
            request, "_job.html", job=None, job_error=f"invalid form: {exc}", status_code=422
        )
    except HTTPException as exc:
        return render(
            request, "_job.html", job=None, job_error=str(exc.detail), status_code=exc.status_code
        )
    job_id = json.loads(bytes(job.body))["job_id"]
    url = f"/ui/training?job={job_id}"
    if not _is_htmx(request):
        return RedirectResponse(url, status_code=303)
    context = job_context(jobs, service, job_id)
    return render(request, "_job.html", access=access, headers={"HX-Push-Url": url}, **context)


@router.get("/training/jobs/{job_id}", response_class=HTMLResponse)
def job_fragment(
    request: Request, job_id: str, access: Reader, service: Service, jobs: Jobs
) -> HTMLResponse:
    """The job's progress (htmx polls it every second until it ends)."""
    return render(request, "_job.html", access=access, **job_context(jobs, service, job_id))


@router.post("/versions/{version}/promote", response_class=HTMLResponse)
async def promote_version(
    request: Request, version: str, access: Writer, service: Service
) -> Response:
    """Make ``version`` LATEST and serve it (see :func:`.lifecycle.promote`)."""
    same_origin(request)
    try:
        outcome = await anyio.to_thread.run_sync(promote, service, version)
    except PromotionError as exc:
        return render(request, "_promoted.html", error=str(exc), outcome=None, status_code=409)
    if not _is_htmx(request):
        return RedirectResponse("/ui/experiments", status_code=303)
    return render(request, "_promoted.html", error=None, outcome=outcome)
