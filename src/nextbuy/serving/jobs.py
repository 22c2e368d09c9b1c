"""Background training jobs: one at a time, each in its own process, state in JSON files.

A job runs ``nextbuy.training.train_model`` in a child process (``python -m
nextbuy.serving.jobs JOB_FILE``), so training's CPU work, torch import and memory never touch
the serving process, and a crash fails the job, not the server. State lives in
``JOBS_DIR/<id>.json`` (written atomically), so every worker process can answer for any job;
an exclusive ``flock`` on ``JOBS_DIR/train.lock`` keeps it to one job at a time across workers.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import subprocess
import sys
import threading
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from nextbuy.errors import NextBuyError
from nextbuy.fsio import atomic_write_bytes

#: Job IDs are 12 hex digits; anything else is not a job (and never reaches the file system).
JOB_ID = re.compile(r"^[0-9a-f]{12}$")
TERMINAL = ("succeeded", "failed")
_PUBLIC = (
    "job_id", "status", "stage", "progress", "created_at", "started_at", "finished_at",
    "request", "metrics", "version", "error",
)  # fmt: skip


class JobBusyError(RuntimeError):
    """A training job is already running; the message names it."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write(path: Path, job: dict[str, Any]) -> None:
    """Replace the job file atomically: readers see the old state or the new one."""
    atomic_write_bytes(path, orjson.dumps(job, option=orjson.OPT_INDENT_2), durable=False)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def public(job: dict[str, Any]) -> dict[str, Any]:
    """The fields a client sees, plus where to poll."""
    out = {key: job.get(key) for key in _PUBLIC}
    out["status_url"] = f"/train/{job['job_id']}"
    return out


class TrainingJobs:
    """Starts, watches and reports training jobs for one models folder."""

    def __init__(self, jobs_dir: Path, timeout_s: float = 6 * 3600) -> None:
        self.jobs_dir = Path(jobs_dir)
        self.timeout_s = timeout_s
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def _path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's public state, or None when there is no such job."""
        if not JOB_ID.match(job_id):
            return None
        job = _read(self._path(job_id))
        return None if job is None else public(job)

    def submit(
        self,
        request: dict[str, Any],
        out: Path,
        files: dict[str, str | None] | None = None,
        private: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a job training into ``out`` (MODELS_DIR); raises JobBusyError if one runs.

        ``files`` are the resolved server paths of ``request``'s files: the child reads them,
        clients never see them (``request`` keeps the paths as the client gave them).
        ``private`` (the resolved config, the event store URL) goes to the child too, never to
        a client: the job file keeps it outside ``request``.
        """
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.jobs_dir / "train.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            current = (
                (self.jobs_dir / "current").read_text().strip()
                if (self.jobs_dir / "current").exists()
                else "?"
            )
            raise JobBusyError(
                f"training job {current} is still running; poll /train/{current} and retry "
                "when it has finished (one job at a time)"
            ) from None
        try:
            job_id = uuid.uuid4().hex[:12]
            job = {
                "job_id": job_id,
                "status": "queued",
                "stage": "queued",
                "progress": 0.0,
                "created_at": _now(),
                "request": request,
                "out": str(out),
                "files": files or {},
                **(private or {}),
            }
            path = self._path(job_id)
            _write(path, job)
            (self.jobs_dir / "current").write_text(job_id)
            log = open(self.jobs_dir / f"{job_id}.log", "wb")  # noqa: SIM115 - closed by watcher
            proc = subprocess.Popen(
                [sys.executable, "-m", "nextbuy.serving.jobs", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        except BaseException:
            os.close(lock_fd)
            raise
        with self._lock:
            self._procs[job_id] = proc
        threading.Thread(
            target=self._watch, args=(job_id, proc, lock_fd, log), name=f"job-{job_id}", daemon=True
        ).start()
        return public(job)

    def _watch(self, job_id: str, proc: subprocess.Popen[bytes], lock_fd: int, log: Any) -> None:
        """Wait for the child; a child that died without a verdict fails the job."""
        error = None
        try:
            try:
                code = proc.wait(timeout=self.timeout_s)
                if code != 0:
                    error = f"training process exited with code {code}; see {job_id}.log"
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                error = f"training stopped after the {self.timeout_s:g} s limit"
            path = self._path(job_id)
            job = _read(path) or {"job_id": job_id, "request": {}, "created_at": _now()}
            if job.get("status") not in TERMINAL:
                job.update(
                    status="failed",
                    error=error or "training process ended without a result",
                    finished_at=_now(),
                )
                _write(path, job)
        finally:
            with self._lock:
                self._procs.pop(job_id, None)
            log.close()
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)

    def shutdown(self, grace_s: float = 5.0) -> None:
        """Stop the jobs this process started (the server is going away)."""
        with self._lock:
            procs = list(self._procs.items())
        for job_id, proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
            path = self._path(job_id)
            job = _read(path)
            if job is not None and job.get("status") not in TERMINAL:
                job.update(
                    status="failed",
                    error="the server stopped before the job finished",
                    finished_at=_now(),
                )
                _write(path, job)


# ---------------------------------------------------------------------- the child process
def run_job(path: Path) -> int:
    """Train what the job file asks for, writing progress and the outcome back to it."""
    job = _read(path)
    if job is None:
        print(f"{path}: unreadable job file", file=sys.stderr)
        return 2
    job.update(status="running", stage="starting", started_at=_now())
    _write(path, job)
    last: dict[str, Any] = {"fraction": 0.0, "stage": "starting"}

    def progress(stage: str, fraction: float) -> None:
        # Written on every stage change and every 1 %: cheap, and polls see movement.
        if stage != last["stage"] or fraction - last["fraction"] >= 0.01:
            last.update(fraction=fraction, stage=stage)
            job.update(stage=stage, progress=round(float(fraction), 4))
            _write(path, job)

    req = {**job["request"], **{k: v for k, v in (job.get("files") or {}).items() if v}}
    try:
        from nextbuy.config import Config, load_config
        from nextbuy.training import train_model

        # the route resolved the served model's config (columns, split) into the job file
        config = Config.model_validate(job["config"]) if job.get("config") else load_config()
        try:
            result = train_model(
                req.get("data"),
                model=req["model"],
                params=req.get("params") or {},
                out=Path(job["out"]),
                name=req["name"],
                items=req.get("items"),
                split=req.get("split"),
                test_fraction=req.get("test_fraction"),
                config=config,
                progress_callback=progress,
                database_url=job.get("database_url"),
                dataset=req.get("dataset"),
            )
        except NextBuyError as exc:  # may quote the file (its header, a row): log only
            print(f"job failed: {exc}", file=sys.stderr)
            return _fail(path, job, _public_error(exc, job))
        except FileNotFoundError:
            return _fail(path, job, f"{job['request'].get('data')}: no such file")
    except Exception as exc:  # the job fails with the reason; the traceback goes to its log
        traceback.print_exc()
        return _fail(path, job, _public_error(exc, job))
    metrics = {
        str(k): float(v)
        for k, v in result.metrics.items()
        if isinstance(v, (int, float)) and math.isfinite(float(v))
    }
    job.update(
        status="succeeded",
        stage="done",
        progress=1.0,
        finished_at=_now(),
        metrics=metrics,
        version=result.version_dir.name,
        version_dir=str(result.version_dir),  # kept in the file, never shown (see _PUBLIC)
    )
    _write(path, job)
    return 0


def _public_error(exc: BaseException, job: dict[str, Any]) -> str:
    """Why a job failed, without the file's contents or server paths (the log has both)."""
    what = "the data does not fit" if isinstance(exc, NextBuyError) else "training crashed"
    data = job.get("request", {}).get("data")
    return (
        f"training on {data!r} failed: {what} ({type(exc).__name__}); the reason is in the "
        "server's job log "
        f"{job['job_id']}.log (it may quote the file, so it is not shown here)"
    )


def _fail(path: Path, job: dict[str, Any], error: str) -> int:
    job.update(status="failed", error=error, finished_at=_now())
    _write(path, job)
    print(f"job failed: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(run_job(Path(sys.argv[1])))
