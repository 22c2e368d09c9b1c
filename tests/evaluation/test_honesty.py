"""Honest by default: the temporal split when timestamps exist, named in the output, and a
warning under every table where a model does not beat popularity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import resolve_method, split, split_user_latest
from nextbuy.evaluation.evaluate import EvaluationResult
from nextbuy.evaluation.honesty import baseline_warnings, split_words
from tests.conftest import run_cli


def _frame(stamps: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i % 40}" for i in range(n)],
            "item_id": [f"i{j}" for j in rng.integers(0, 60, n)],
            "value": 1.0,
        }
    )
    if stamps:
        frame["timestamp"] = 1_700_000_000 + rng.permutation(n) * 60
    return frame.drop_duplicates(["user_id", "item_id"])


def test_latest_split_holds_out_each_users_future() -> None:
    inter = Interactions.from_frame(_frame(True), explicit=False)
    train, test = split_user_latest(inter, 0.2)
    assert len(train) + len(test) == len(inter)
    last_train = pd.Series(train.timestamps).groupby(train.users).max()
    first_test = pd.Series(test.timestamps).groupby(test.users).min()
    assert (last_train.loc[first_test.index] < first_test).all()  # the past trains, per user
    counts = np.bincount(inter.users)
    held = np.bincount(test.users, minlength=len(counts))
    np.testing.assert_array_equal(held, np.floor(0.2 * counts + 0.5).clip(1, counts - 1))


def test_auto_split_is_temporal_with_timestamps_and_random_without() -> None:
    timed = Interactions.from_frame(_frame(True), explicit=False)
    plain = Interactions.from_frame(_frame(False), explicit=False)
    assert resolve_method(timed, "auto") == "latest"
    assert resolve_method(plain, "auto") == "random"
    a, b = split(timed, "auto", test_fraction=0.2)
    c, d = split_user_latest(timed, 0.2)
    assert len(b) == len(d) and (np.sort(b.timestamps) == np.sort(d.timestamps)).all()
    assert split_words("latest") == "temporal split (each user's latest interactions)"


def test_warning_when_a_model_does_not_beat_popularity() -> None:
    results = [
        EvaluationResult("ease", 10, 100, {"ndcg@10": 0.30}),
        EvaluationResult("bpr", 10, 100, {"ndcg@10": 0.10}),
        EvaluationResult("popularity", 10, 100, {"ndcg@10": 0.12}),
    ]
    lines = baseline_warnings(results, split="latest")
    assert lines == [
        "warning: bpr does not beat popularity on NDCG@10 (0.1000 vs 0.1200) on the temporal "
        "split (each user's latest interactions); a bestseller list does as well"
    ]
    assert baseline_warnings(results[:2]) == []  # no popularity row: nothing to compare


@pytest.mark.slow
def test_train_names_the_temporal_split_shows_popularity_and_warns(
    shop_dir: Path, tmp_path: Path
) -> None:
    data = str(shop_dir / "interactions.csv")
    good = run_cli("train", "--data", data, "--model", "ease", "--out", str(tmp_path), "--quiet")
    assert "temporal split (each user's latest interactions)" in good.stdout
    assert "popularity" in good.stdout and "warning" not in good.stderr
    manifest = json.loads(next((tmp_path / "ease").glob("*/manifest.json")).read_text())
    assert manifest["data"]["split"] == "latest"
    # a popularity penalty this strong ranks the long tail first: the warning says so
    bad = run_cli(
        "train", "--data", data, "--model", "rp3beta", "--set", "beta=3", "--out",
        str(tmp_path), "--quiet",
    )  # fmt: skip
    assert "warning: rp3beta does not beat popularity" in bad.stderr
    plain = tmp_path / "plain.csv"
    pd.read_csv(data).drop(columns=["timestamp"]).to_csv(plain, index=False)
    out = run_cli("train", "--data", str(plain), "--model", "ease", "--out", str(tmp_path),
                  "--quiet")  # fmt: skip
    assert "random split" in out.stdout
