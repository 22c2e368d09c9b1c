"""The smaller stumbles of issue 11 (item 8) as commands show them: evaluate's unknown count,
predict files with unknown items, the popularity reference of tune."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_evaluate_note_and_json_count_the_same_unknown_pairs(
    als_dir: Path, shop_dir: Path, tmp_path: Path
) -> None:
    known = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    test = known.drop_duplicates(["user_id", "item_id"]).head(40).copy()
    strangers = test.head(7).copy()
    strangers["user_id"] = [f"stranger-{i}" for i in range(7)]
    ghosts = test.tail(3).copy()
    ghosts["item_id"] = [f"ghost-item-{i}" for i in range(3)]
    pd.concat([test, strangers, ghosts]).to_csv(tmp_path / "test.csv", index=False)
    proc = run_cli(
        "evaluate", "--model-dir", str(als_dir), "--test", str(tmp_path / "test.csv"),
        "--json", str(tmp_path / "e.json"),
    )  # fmt: skip
    results = json.loads((tmp_path / "e.json").read_text())
    assert [r["n_test_unknown"] for r in results] == [10, 10]
    match = re.search(r"note: ([\d,]+) of ([\d,]+) test user-item pairs", proc.stderr)
    assert match is not None, proc.stderr
    assert (int(match.group(1)), int(match.group(2))) == (10, 50)


def test_predict_file_keeps_going_past_unknown_items(
    als_dir: Path, shop_dir: Path, tmp_path: Path
) -> None:
    item = pd.read_csv(shop_dir / "items.csv", dtype={"item_id": str})["item_id"].iloc[0]
    pairs = tmp_path / "pairs.csv"
    rows = [("u00001", item), ("u00001", "no-such-item"), ("ghost", item)] * 200
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(pairs, index=False)
    proc = run_cli(
        "predict", "--model-dir", str(als_dir), "--pairs", str(pairs),
        "--out", str(tmp_path / "pred.csv"),
    )  # fmt: skip
    pred = pd.read_csv(tmp_path / "pred.csv", dtype={"user_id": str, "item_id": str})
    assert len(pred) == 600
    assert pred["strategy"].tolist()[:3] == ["personalized", "unknown_item", "fallback"]
    unknown = pred["strategy"] == "unknown_item"
    assert pred.loc[unknown, "prediction"].isna().all()
    assert pred.loc[~unknown, "prediction"].notna().all()
    assert "200 unknown_item" in proc.stdout.replace("\n", " ")

    # one pair on its own is still an error, as it is a 404 over HTTP
    proc = run_cli(
        "predict", "--model-dir", str(als_dir), "--user", "u00001", "--item", "no-such-item",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown item 'no-such-item'" in proc.stderr


def test_tune_prints_the_popularity_reference_and_draws_it(shop_dir: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "tune", "--data", str(shop_dir / "interactions.csv"), "--model", "itemknn",
        "--trials", "2", "--out", str(tmp_path / "t.yaml"),
    )  # fmt: skip
    match = re.search(
        r"reference: popularity on the same validation slice: ndcg@10 = ([\d.]+)", proc.stdout
    )
    assert match is not None, proc.stdout
    assert 0.0 < float(match.group(1)) < 1.0
    assert (tmp_path / "t.png").stat().st_size > 0
