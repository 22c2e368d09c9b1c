"""train, evaluate and user mistakes as a new user meets them: real subprocesses, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_mf_train_and_evaluate_with_test_file(shop_dir: Path, tmp_path: Path) -> None:
    ratings = pd.read_csv(shop_dir / "ratings.csv", dtype={"user_id": str, "item_id": str})
    test = ratings.sample(frac=0.2, random_state=0)
    ratings.drop(test.index).to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    run_cli(
        "train",
        "--data",
        str(tmp_path / "train.csv"),
        "--model",
        "mf",
        "--set",
        "epochs=15",
        "--split",
        "none",
        "--out",
        str(tmp_path / "m"),
        "--quiet",
    )
    proc = run_cli(
        "evaluate",
        "--model-dir",
        str(tmp_path / "m" / "mf"),
        "--test",
        str(tmp_path / "test.csv"),
        "--json",
        str(tmp_path / "eval.json"),
    )
    results = json.loads((tmp_path / "eval.json").read_text())
    by_model = {r["model"]: r for r in results}
    assert set(by_model) == {"mf", "popularity", "globalmean", "bias"}  # rating baselines too
    assert 0.3 < by_model["mf"]["metrics"]["rmse"] < 1.2
    lost = by_model["mf"]["metrics"]["rmse"] >= by_model["bias"]["metrics"]["rmse"]
    assert ("warning: mf (RMSE" in proc.stderr) == lost, proc.stderr
    assert "same #1" in proc.stdout


def test_user_mistakes_exit_2_with_one_line(shop_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,product\nA-007,sku-1\nB-9,sku-2\n")
    proc = run_cli(
        "train", "--data", str(bad), "--model", "als", "--out", str(tmp_path / "m"), check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.csv" in proc.stderr and "user_id" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

    proc = run_cli(
        "recommend", "--model-dir", str(tmp_path / "nothing"), "--user", "x", check=False
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr

    proc = run_cli(
        "train",
        "--data",
        str(shop_dir / "interactions.csv"),
        "--model",
        "als",
        "--set",
        "factorz=3",
        "--out",
        str(tmp_path / "m"),
        check=False,
    )
    assert proc.returncode == 2 and "factorz" in proc.stderr

    proc = run_cli(
        "train",
        "--data",
        str(shop_dir / "interactions.csv"),
        "--model",
        "mf",
        "--out",
        str(tmp_path / "m"),
        check=False,
    )
    assert proc.returncode == 2 and "rating" in proc.stderr


def test_string_ids_with_column_mapping(tmp_path: Path) -> None:
    rows = ["customer,product,qty"] + [
        f"{u},{p},1" for u in ("007", "7", "A") for p in ("x1", "x2", "x3") if (u, p) != ("A", "x3")
    ]
    data = tmp_path / "orders.csv"
    data.write_text("\n".join(rows) + "\n")
    run_cli(
        "train",
        "--data",
        str(data),
        "--user-col",
        "customer",
        "--item-col",
        "product",
        "--value-col",
        "qty",
        "--model",
        "popularity",
        "--split",
        "none",
        "--out",
        str(tmp_path / "m"),
        "--quiet",
    )
    out = json.loads(
        run_cli(
            "recommend", "--model-dir", str(tmp_path / "m" / "popularity"), "--user", "A", "--json"
        ).stdout
    )
    assert out["strategy"] == "personalized"
    assert [r["item_id"] for r in out["recommendations"]] == ["x3"]
    from nextbuy.artifacts import load_artifact

    art = load_artifact(tmp_path / "m" / "popularity")
    assert sorted(art.user_map.ids) == ["007", "7", "A"]


def test_train_from_event_store_merged_with_file(shop_dir: Path, tmp_path: Path) -> None:
    from nextbuy.artifacts import load_artifact
    from nextbuy.store import EventStore

    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = EventStore(url)
    store.add_events(
        [
            {
                "event_id": f"e{i}",
                "user_id": "brand-new",
                "item_id": item,
                "event": "purchase",
                "value": 1.0,
                "timestamp": 1_700_000_000 + i,
            }
            for i, item in enumerate(["p00001", "p00002", "p-new-item"])
        ]
    )
    store.close()
    run_cli(
        "train",
        "--data",
        str(shop_dir / "interactions.csv"),
        "--database-url",
        url,
        "--model",
        "ease",
        "--split",
        "none",
        "--out",
        str(tmp_path / "m"),
        "--quiet",
    )
    art = load_artifact(tmp_path / "m" / "ease")
    assert "brand-new" in art.user_map and "p-new-item" in art.item_map
    row = art.seen[art.user_map.index_of("brand-new")]
    assert row.nnz == 3 and float(row.data.max()) == 5.0  # purchase weight 5 x value 1

    run_cli(
        "train",
        "--database-url",
        url,
        "--model",
        "popularity",
        "--split",
        "none",
        "--out",
        str(tmp_path / "m"),
        "--quiet",
    )
    assert len(load_artifact(tmp_path / "m" / "popularity").item_map) == 3
    manifest = load_artifact(tmp_path / "m" / "popularity").manifest
    assert manifest["data"]["event_store_last_id"] == 3
