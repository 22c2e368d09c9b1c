"""``nextbuy report``: the numbers (they equal training's), the buckets, and one HTML file."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nextbuy.artifacts import load_artifact
from nextbuy.reporting.analysis import Estimate
from nextbuy.reporting.build import build_report
from nextbuy.reporting.source import SourceError
from tests.conftest import run_cli
from tests.ui.conftest import Models, train_shop_models


@pytest.fixture(scope="module")
def models(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("report-models")
    train_shop_models(shop_dir, root)
    return Models(root, shop_dir)


def test_estimate_is_the_normal_interval_over_users():
    e = Estimate.of(np.array([0.0, 1.0, np.nan, 1.0, 0.0]))
    assert (e.mean, e.n) == (0.5, 4)
    assert e.half_width == pytest.approx(1.959964 * np.std([0, 1, 1, 0], ddof=1) / 2, rel=1e-6)
    assert math.isnan(Estimate.of(np.array([np.nan])).mean)


def test_report_numbers_equal_the_metrics_training_stored(models: Models):
    data = build_report(models.root / "als")
    stored = load_artifact(models.root / "als").manifest["metrics"]
    model, *baselines = data.evaluations
    assert [b.name for b in baselines] == ["popularity", "itemknn"]
    for name in ("precision", "recall", "ndcg", "map", "hit_rate"):
        est = model.metrics[name]
        assert est.mean == pytest.approx(stored[f"{name}@10"], abs=1e-9)
        assert est.low < est.mean < est.high
    assert model.coverage == pytest.approx(stored["coverage@10"])
    assert sum(data.user_bucket_sizes) == len(data.truth.users) == model.metrics["ndcg"].n
    assert sum(data.item_bucket_sizes) == data.n_items
    assert data.decile_interactions.sum() == pytest.approx(1)
    assert np.all(np.diff(data.decile_interactions) <= 1e-12)  # deciles by popularity
    for e in data.evaluations:
        assert e.decile_share.sum() == pytest.approx(1)
    popularity = baselines[0]
    assert popularity.decile_share[0] > model.decile_share[0]  # the baseline is all head
    assert popularity.item_buckets[2].mean == 0.0  # and never finds a tail item


def test_rating_model_report_has_errors_by_count_and_a_curve(models: Models):
    data = build_report(models.root / "mf")
    stored = load_artifact(models.root / "mf").manifest
    assert data.evaluations[0].rmse == pytest.approx(stored["metrics"]["rmse"], rel=1e-6)
    assert data.ratings is not None
    n = sum(count for _, _, count in data.ratings.by_user)
    assert n == len(data.ratings.actual) == sum(count for _, _, count in data.ratings.by_item)
    assert data.evaluations[1].name.startswith("popularity") and data.evaluations[1].rmse > 0
    assert "train_loss" in data.curves and len(data.curves["train_loss"]) == 4


def test_report_is_one_self_contained_html_file(models: Models, tmp_path: Path):
    out = tmp_path / "mf.html"
    run_cli("report", "--model-dir", str(models.root / "mf"), "--out", str(out))
    html = out.read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 7
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched
    assert "<script" not in html
    sections = ("Evaluation against the baselines", "Who it works for", "Popularity bias",
                "Rating predictions", "Training curve", "cold (1-5)", "tail (50-100%)")  # fmt: skip
    for words in sections:
        assert words in html


def test_report_with_a_test_file(models: Models, tmp_path: Path):
    out = tmp_path / "als.html"
    test = models.shop / "interactions.csv"  # every row; pairs seen in training are dropped
    run_cli("report", "--model-dir", str(models.root / "als"), "--test", str(test),
            "--out", str(out))  # fmt: skip
    assert "the test file" in out.read_text() and "Rating predictions" not in out.read_text()


def test_changed_training_data_is_refused_with_a_way_out(models: Models, tmp_path: Path):
    shop = tmp_path / "shop"
    shutil.copytree(models.shop, shop)
    root = tmp_path / "models"
    train_shop_models(shop, root)
    with open(shop / "interactions.csv", "a") as fh:
        fh.write('"u99999","p00001",1,1704173105,"view"\n')
    with pytest.raises(SourceError, match="--test"):
        build_report(root / "als")
    (shop / "interactions.csv").unlink()
    proc = run_cli("report", "--model-dir", str(root / "als"), "--out", str(tmp_path / "x.html"),
                   check=False)  # fmt: skip
    assert proc.returncode == 2 and "not there any more" in proc.stderr
