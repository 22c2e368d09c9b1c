"""Experiment tracking: every ``train`` and ``tune`` run with its parameters, metrics per epoch,
data fingerprint, artifacts and duration, in a local store (``MODELS_DIR/.runs``, one JSON file
per run) and, with ``--tracking-uri``, in MLflow (the ``mlflow`` extra).

MLflow mirrors the registry: a trained version becomes a version of the registered model of
the same name (tagged with NextBuy's version), and ``nextbuy models promote --tracking-uri``
sets the same alias there.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nextbuy.errors import ConfigError
from nextbuy.fsio import atomic_write_text
from nextbuy.manifest import json_default, strict_json

RUNS_DIR = ".runs"


def new_run(kind: str, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A run record, started now; finish it with :func:`finish_run`."""
    return {"run_id": f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}", "kind": kind,
            "name": name, "params": dict(params), "started_at": time.time(), "metrics": {},
            "history": {}, "data": {}, "artifacts": [], "status": "running"}  # fmt: skip


def finish_run(
    run: dict[str, Any],
    models_dir: Path,
    *,
    metrics: Mapping[str, float] | None = None,
    history: Mapping[str, list[float]] | None = None,
    data: Mapping[str, Any] | None = None,
    artifacts: list[str] | None = None,
    tracking_uri: str | None = None,
    version: str | None = None,
) -> Path:
    """Complete the record, write it to ``models_dir/.runs`` and to MLflow when asked."""
    run.update(
        metrics=dict(metrics or {}), history={k: list(v) for k, v in (history or {}).items()},
        data=dict(data or {}), artifacts=list(artifacts or []), status="finished",
        duration_s=round(time.time() - run["started_at"], 3), version=version,
    )  # fmt: skip
    path = Path(models_dir) / RUNS_DIR / f"{run['run_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(strict_json(run), indent=2, default=json_default)
    atomic_write_text(path, text + "\n")
    if tracking_uri:
        run["mlflow_run_id"] = log_to_mlflow(run, tracking_uri)
        atomic_write_text(path, json.dumps(strict_json(run), indent=2, default=json_default))
    return path


def list_runs(models_dir: Path) -> list[dict[str, Any]]:
    """Every recorded run, oldest first."""
    folder = Path(models_dir) / RUNS_DIR
    paths = folder.glob("*.json") if folder.is_dir() else []
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    # by start time, not by ID: two runs started in the same second share the ID's prefix
    return sorted(runs, key=lambda r: (float(r.get("started_at") or 0), str(r.get("run_id"))))


def get_run(models_dir: Path, run_id: str) -> dict[str, Any]:
    runs = {r["run_id"]: r for r in list_runs(models_dir)}
    matches = [r for rid, r in runs.items() if rid.startswith(run_id)]
    if len(matches) != 1:
        known = ", ".join(runs) or "none"
        what = "no run" if not matches else "several runs"
        raise ConfigError(f"{what} matching {run_id!r} in {models_dir}/{RUNS_DIR} (runs: {known})")
    return matches[0]


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError(
            "--tracking-uri needs MLflow: pip install 'nextbuy[mlflow]' (mlflow-skinny)"
        ) from None
    return mlflow


def log_to_mlflow(run: Mapping[str, Any], tracking_uri: str) -> str:
    """One MLflow run (params, metrics with per-epoch steps, tags, artifacts); a trained
    version is also registered as a version of the registered model of the same name."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"nextbuy-{run['name']}")
    with mlflow.start_run(run_name=run["run_id"]) as active:
        mlflow.log_params({k: str(v)[:500] for k, v in run["params"].items()})
        numbers = {_name(k): float(v) for k, v in run["metrics"].items() if _is_number(v)}
        if numbers:
            mlflow.log_metrics(numbers)
        for key, values in run["history"].items():
            for step, value in enumerate(values):
                if _is_number(value):
                    mlflow.log_metric(_name(key), float(value), step=step)
        tags = {"nextbuy.kind": run["kind"], "nextbuy.duration_s": str(run.get("duration_s")),
                **{f"nextbuy.data.{k}": str(v)[:500] for k, v in run["data"].items()}}  # fmt: skip
        mlflow.set_tags(tags)
        for artifact in run["artifacts"]:
            if Path(artifact).is_file():
                mlflow.log_artifact(artifact)
        run_id = str(active.info.run_id)
    if run.get("version"):
        client = mlflow.MlflowClient()
        with contextlib.suppress(Exception):  # the registered model exists already
            client.create_registered_model(run["name"])
        source = str(run["artifacts"][0]) if run["artifacts"] else str(run["version"])
        client.create_model_version(
            run["name"], source=source, run_id=run_id, tags={"nextbuy.version": run["version"]}
        )
    return run_id


def set_mlflow_alias(tracking_uri: str, name: str, alias: str, version: str) -> None:
    """Point MLflow's alias of registered model ``name`` at NextBuy's ``version``."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = [
        mv for mv in client.search_model_versions(f"name='{name}'")
        if (mv.tags or {}).get("nextbuy.version") == version
    ]  # fmt: skip
    if not found:
        raise ConfigError(f"MLflow at {tracking_uri} has no version of {name!r} tagged {version}")
    client.set_registered_model_alias(name, alias, found[0].version)


def _name(metric: str) -> str:
    """MLflow's spelling of a metric name: ``ndcg@10`` -> ``ndcg_at_10`` (no @ allowed)."""
    return metric.replace("@", "_at_")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
