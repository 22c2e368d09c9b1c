"""``nextbuy data split`` and ``--format`` (issue 11, item 7): the commands the docs show."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def read_split(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    types = {"user_id": str, "item_id": str}
    return pd.read_csv(out / "train.csv", dtype=types), pd.read_csv(out / "test.csv", dtype=types)


@pytest.mark.parametrize("method", ["time", "user", "random", "last"])
def test_split_writes_train_and_test_and_says_what_it_did(
    shop_dir: Path, tmp_path: Path, method: str
) -> None:
    source = shop_dir / "interactions.csv"
    proc = run_cli("data", "split", str(source), "--method", method, "--out", str(tmp_path))
    train, test = read_split(tmp_path)
    pairs = pd.read_csv(source, dtype=str)[["user_id", "item_id"]].drop_duplicates()
    assert len(train) + len(test) == len(pairs)
    assert list(train.columns) == ["user_id", "item_id", "value", "timestamp", "event"]
    merged = train.merge(test, on=["user_id", "item_id"])
    assert merged.empty  # a pair is on one side only
    out = proc.stdout.replace("\n", " ")
    assert f"split {len(pairs):,} user-item pairs" in out
    assert f"{len(train):,} train, {len(test):,} test" in out
    assert f"wrote {tmp_path / 'train.csv'} and {tmp_path / 'test.csv'}" in out
    if method == "time":
        assert train["timestamp"].max() < test["timestamp"].min()
        assert "by time: pairs from 20" in out
        assert abs(len(test) / len(pairs) - 0.2) < 0.05
    if method in ("user", "last"):
        assert set(test["user_id"]) <= set(train["user_id"])
    if method == "last":
        assert test["user_id"].is_unique


def test_split_ratings_then_train_and_evaluate_without_column_options(
    shop_dir: Path, tmp_path: Path
) -> None:
    run_cli(
        "data", "split", str(shop_dir / "ratings.csv"), "--method", "user",
        "--test-fraction", "0.25", "--seed", "3", "--out", str(tmp_path / "split"),
    )  # fmt: skip
    train, test = read_split(tmp_path / "split")
    assert "rating" in train.columns and "rating" in test.columns  # still explicit
    run_cli(
        "train", "--data", str(tmp_path / "split" / "train.csv"), "--model", "mf",
        "--set", "epochs=3", "--split", "none", "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    run_cli(
        "evaluate", "--model-dir", str(tmp_path / "m" / "mf"),
        "--test", str(tmp_path / "split" / "test.csv"), "--json", str(tmp_path / "e.json"),
    )  # fmt: skip
    results = json.loads((tmp_path / "e.json").read_text())
    assert 0.3 < results[0]["metrics"]["rmse"] < 1.5


def test_split_mistakes_are_one_line(shop_dir: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "data", "split", str(shop_dir / "interactions.csv"), "--method", "sideways",
        "--out", str(tmp_path), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown split method 'sideways'" in proc.stderr


def test_format_is_the_option_and_fmt_a_hidden_alias(tmp_path: Path) -> None:
    data = tmp_path / "events.txt"  # .txt: csv by extension, so give the format
    data.write_text("user_id\titem_id\nu1\tp1\nu2\tp1\n")
    proc = run_cli("data", "describe", str(data), "--format", "tsv", "--json")
    assert json.loads(proc.stdout)["rows"] == 2
    proc = run_cli("data", "describe", str(data), "--fmt", "tsv", "--json")
    assert json.loads(proc.stdout)["rows"] == 2
    helptext = run_cli("data", "describe", "--help").stdout
    assert "--format" in helptext and "--fmt" not in helptext
    proc = run_cli("data", "describe", str(data), "--format", "tsv", "--fmt", "csv", check=False)
    assert proc.returncode == 2 and "disagree" in proc.stderr


def test_event_weights_option(tmp_path: Path) -> None:
    data = tmp_path / "events.csv"
    data.write_text("visitorid,itemid,event\n1,10,view\n1,11,addtocart\n2,10,transaction\n")
    base = ("data", "describe", str(data), "--user-col", "visitorid", "--item-col", "itemid")
    stats = json.loads(
        run_cli(*base, "--event-weights", "view=1,addtocart=2,transaction=8", "--json").stdout
    )
    assert stats["value"]["max"] == 8.0 and stats["value"]["mean"] == pytest.approx(11 / 3)
    assert "addtocart 2, transaction 8" in stats["feedback"]
    proc = run_cli(*base, "--event-weights", "view=1,addtocart", check=False)
    assert proc.returncode == 2 and "expected TYPE=WEIGHT pairs" in proc.stderr
    data.write_text("visitorid,itemid,event\n1,10,veiw\n")  # a typo, with weights given
    proc = run_cli(*base, "--event-weights", "view=1", check=False)
    assert proc.returncode == 2 and "expected a known event type" in proc.stderr
