"""Experiment tracking (issue 14): train and tune runs in the local store, browsable with
``nextbuy runs``, and in MLflow against a local sqlite tracking URI (when mlflow is there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbuy.cli import app

runner = CliRunner()


def invoke(*args: str) -> str:
    """The command's standard output (log lines of earlier tests' handlers go to stderr)."""
    out = runner.invoke(app, list(args))
    assert out.exit_code == 0, (out.output, out.exception)
    return out.stdout


def train(shop_dir: Path, models: Path, *extra: str) -> None:
    data = str(shop_dir / "interactions.csv")
    invoke("train", "--data", data, "--out", str(models), "--model", "als",
           "--set", "factors=4", "--set", "iterations=2", "--quiet", *extra)  # fmt: skip


def test_train_runs_are_recorded_and_compared(shop_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    train(shop_dir, models)
    train(shop_dir, models, "--set", "factors=6")
    runs = json.loads(invoke("runs", "list", "--models-dir", str(models), "--json"))
    assert [r["kind"] for r in runs] == ["train", "train"]
    first = runs[0]
    assert first["params"]["factors"] == 4 and first["status"] == "finished"
    assert first["data"]["fingerprint"] and first["duration_s"] > 0
    assert "ndcg@10" in first["metrics"] and first["version"]
    assert first["artifacts"][0].endswith("manifest.json")
    shown = json.loads(invoke("runs", "show", first["run_id"][:20], "--models-dir", str(models)))
    assert shown["run_id"] == first["run_id"]
    table = invoke("runs", "compare", runs[0]["run_id"], runs[1]["run_id"],
                   "--models-dir", str(models))  # fmt: skip
    assert "params.factors" in table


def test_mlflow_with_a_local_sqlite_tracking_uri(shop_dir: Path, tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = tmp_path / "models"
    train(shop_dir, models, "--name", "shopals", "--tracking-uri", uri)
    run = json.loads(invoke("runs", "list", "--models-dir", str(models), "--json"))[0]
    client = mlflow.MlflowClient(tracking_uri=uri)
    logged = client.get_run(run["mlflow_run_id"])
    assert logged.data.params["factors"] == "4"
    assert logged.data.metrics["ndcg_at_10"] == pytest.approx(run["metrics"]["ndcg@10"])
    assert logged.data.tags["nextbuy.data.fingerprint"] == run["data"]["fingerprint"]
    # the registered model mirrors the registry; promote sets the same alias there
    invoke("models", "promote", str(models / "shopals"), run["version"], "--alias",
           "champion", "--tracking-uri", uri)  # fmt: skip
    version = client.get_model_version_by_alias("shopals", "champion")
    assert version.tags["nextbuy.version"] == run["version"]


def test_a_tune_run_is_recorded_with_each_trial(shop_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    out = str(tmp_path / "t.yaml")
    invoke("tune", "--data", str(shop_dir / "interactions.csv"), "--model", "ease",
           "--trials", "2", "--out", out, "--models-dir", str(models))  # fmt: skip
    (run,) = json.loads(invoke("runs", "list", "--models-dir", str(models), "--json"))
    assert run["kind"] == "tune" and len(run["history"]["ndcg@10"]) == 2
    assert run["metrics"]["ndcg@10"] == max(run["history"]["ndcg@10"])
    assert run["duration_s"] > 0.01 and run["data"]["fingerprint"]
    assert any(a.endswith("t.yaml") for a in run["artifacts"])
