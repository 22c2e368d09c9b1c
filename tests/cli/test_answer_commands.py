"""recommend, similar, batch and predict as a user runs them: real subprocesses and files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_recommend_json_has_names_and_excludes_seen(als_dir: Path, shop_dir: Path) -> None:
    events = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    user = events["user_id"].iloc[0]
    out = json.loads(
        run_cli(
            "recommend", "--model-dir", str(als_dir), "--user", user, "-k", "5", "--json"
        ).stdout
    )
    assert out["user_id"] == user and out["strategy"] == "personalized"
    recs = out["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
    assert all(r["name"] and r["brand"] for r in recs)
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True)
    # the manifest's seen matrix is the training part; nothing returned was in it
    from nextbuy.artifacts import load_artifact

    art = load_artifact(als_dir)
    assert art.attributes is not None and art.attributes.n_items == len(art.item_map)
    seen = set(art.item_map.to_ids(art.seen[art.user_map.index_of(user)].indices))
    assert not seen & {r["item_id"] for r in recs}


def test_unknown_user_gets_fallback(als_dir: Path) -> None:
    out = json.loads(
        run_cli("recommend", "--model-dir", str(als_dir), "--user", "nobody", "--json").stdout
    )
    assert out["strategy"] == "fallback" and len(out["recommendations"]) == 10


def test_similar_batch_predict(als_dir: Path, shop_dir: Path, tmp_path: Path) -> None:
    items = pd.read_csv(shop_dir / "items.csv", dtype={"item_id": str})
    item = items["item_id"].iloc[3]
    sim = json.loads(
        run_cli("similar", "--model-dir", str(als_dir), "--item", item, "-k", "4", "--json").stdout
    )
    assert len(sim["items"]) == 4 and item not in {s["item_id"] for s in sim["items"]}

    users = tmp_path / "users.csv"
    users.write_text("user_id\nu00001\nnot-a-user\n")
    run_cli(
        "batch",
        "--model-dir",
        str(als_dir),
        "--users",
        str(users),
        "-k",
        "3",
        "--out",
        str(tmp_path / "top.parquet"),
    )
    top = pd.read_parquet(tmp_path / "top.parquet")
    assert list(top.columns) == ["user_id", "rank", "item_id", "score", "strategy"]
    assert len(top) == 6 and top["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert top["strategy"].tolist() == ["personalized"] * 3 + ["fallback"] * 3

    run_cli("batch", "--model-dir", str(als_dir), "-k", "2", "--out", str(tmp_path / "all.csv"))
    everyone = pd.read_csv(tmp_path / "all.csv", dtype={"user_id": str})
    assert everyone["user_id"].nunique() == 400

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"user_id,item_id\nu00001,{item}\nghost,{item}\n")
    run_cli(
        "predict",
        "--model-dir",
        str(als_dir),
        "--pairs",
        str(pairs),
        "--out",
        str(tmp_path / "pred.csv"),
    )
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["user_id", "item_id", "prediction", "strategy"]
    assert len(pred) == 2 and pred["strategy"].tolist() == ["personalized", "fallback"]
