"""``nextbuy retrain``: the first model from --data, then retraining what the manifest recorded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nextbuy.artifacts import load_artifact, read_manifest, resolve_version_dir
from tests.conftest import run_cli


def test_retrain_bootstraps_then_reuses_the_recorded_file_and_columns(
    shop_dir: Path, tmp_path: Path
):
    frame = pd.read_csv(shop_dir / "interactions.csv", dtype=str)
    data = tmp_path / "reviews.csv"
    frame.rename(columns={"user_id": "reviewerID", "item_id": "asin"}).to_csv(data, index=False)
    models = tmp_path / "models"
    small = ("--set", "factors=4", "--set", "iterations=2", "--quiet")
    first = run_cli(
        "retrain", "--models", str(models), "--data", str(data), "--user-col", "reviewerID",
        "--item-col", "asin", "--model", "als", *small,
    )  # fmt: skip
    assert "training the first one" in first.stdout
    v1 = load_artifact(models / "als").version

    again = run_cli("retrain", "--models", str(models), "--quiet")  # nothing but the folder
    assert "retrained als" in again.stdout
    manifest = read_manifest(resolve_version_dir(models / "als"))
    assert manifest["version"] != v1
    assert manifest["data"]["path"] == str(data.resolve())
    assert manifest["config"]["data"]["user_col"] == "reviewerID"
    assert manifest["params"]["factors"] == 4  # the served parameters, kept

    # evaluate and tune read files with the recorded columns (no --user-col/--item-col again)
    evaluated = run_cli("evaluate", "--model-dir", str(models / "als"), "--test", str(data))
    assert "ndcg@10" in evaluated.stdout.lower()
    tuned = run_cli(
        "tune", "--model-dir", str(models / "als"), "--trials", "1",
        "--set", "iterations=1", "--out", str(tmp_path / "t.yaml"),
    )  # fmt: skip
    assert "tuning als on" in tuned.stdout and "reviews.csv" in tuned.stdout
    assert "user_col: reviewerID" in (tmp_path / "t.yaml").read_text()

    other = run_cli("retrain", "--models", str(models), "--model", "ease", "--quiet")
    assert "retrained ease" in other.stdout and (models / "ease" / "LATEST").is_file()
    several = run_cli("retrain", "--models", str(models), check=False)
    assert several.returncode == 2 and "several models (als, ease)" in several.stderr


def test_retrain_usage_errors(tmp_path: Path):
    empty = run_cli("retrain", "--models", str(tmp_path), check=False)
    assert empty.returncode == 2 and "no model in" in empty.stderr and "--data" in empty.stderr
    bad = run_cli("retrain", "--models", str(tmp_path), "--every", "soon", check=False)
    assert bad.returncode == 2 and "--every 'soon'" in bad.stderr
