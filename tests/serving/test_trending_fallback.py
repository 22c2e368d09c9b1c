"""Unknown users get trending items when the training data had timestamps, counts otherwise."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nextbuy.artifacts import load_artifact
from nextbuy.fallback import validated_half_life
from nextbuy.training import train_model
from tests.serving.conftest import make_client

DAY = 86_400
OLD = [f"old{i}" for i in range(4)]
NEW = [f"new{i}" for i in range(3)]


def bestsellers_then_trends() -> pd.DataFrame:
    """40 users bought the old bestsellers a year ago; 20 others bought new items this week."""
    start = 1_700_000_000
    rows = [(f"u{u}", item, start + u * 60) for u in range(40) for item in OLD]
    rows += [(f"u{u}", item, start + 365 * DAY + u * 60) for u in range(40, 60) for item in NEW]
    # a few recent sales of old items, so every user and item has something
    rows += [(f"u{u}", OLD[0], start + 365 * DAY + 5) for u in range(40, 45)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def popular_ids(model_dir: Path) -> tuple[list[str], list[str]]:
    """(/popular, /recommend for an unknown user) item IDs, top 3."""
    with make_client(model_dir) as client:
        popular = client.get("/popular", params={"k": 3}).json()["items"]
        body = client.post("/recommend", json={"user_id": "stranger", "k": 3}).json()
    assert body["strategy"] == "fallback"
    return [i["item_id"] for i in popular], [i["item_id"] for i in body["recommendations"]]


def train(tmp_path: Path, frame: pd.DataFrame, model: str, **kwargs: object) -> Path:
    data = tmp_path / "events.csv"
    frame.to_csv(data, index=False)
    params = {} if model == "auto" else {"factors": 4, "iterations": 2, "num_threads": 1}
    result = train_model(
        data, model=model, params=params, out=tmp_path / "models", split="none", **kwargs
    )
    return result.version_dir


def test_timed_data_gives_unknown_users_the_trending_items(tmp_path: Path) -> None:
    version = train(tmp_path, bestsellers_then_trends(), "als")
    artifact = load_artifact(version)
    entry = artifact.manifest["fallback"]
    assert entry == {
        "kind": "trending",
        "file": "fallback_trending.npy",
        "half_life_days": 14.0,
        "chosen_on": "default",
    }
    assert "fallback_trending.npy" in artifact.manifest["files"]  # checksummed like the rest
    assert artifact.fallback is not None
    # decayed: a year-old sale weighs 0.5 ** (365 / 14), about 1.5e-8 of this week's
    by_id = dict(zip(artifact.item_map.ids, artifact.fallback, strict=True))
    assert by_id["new0"] == pytest.approx(20.0, rel=1e-3)
    assert by_id["old1"] == pytest.approx(40 * 0.5 ** (365 / 14), rel=1e-2)
    popular, fallback = popular_ids(version)
    assert sorted(popular) == sorted(NEW) and fallback == popular


def test_untimed_data_keeps_the_all_time_bestsellers(tmp_path: Path) -> None:
    frame = bestsellers_then_trends().drop(columns="timestamp")
    version = train(tmp_path, frame, "als")
    artifact = load_artifact(version)
    assert "fallback" not in artifact.manifest and artifact.fallback is None
    popular, fallback = popular_ids(version)
    assert popular[0] == OLD[0]  # 45 buyers
    assert set(popular[1:]) <= set(OLD) and fallback == popular


def test_auto_stores_the_half_life_chosen_on_validation(tmp_path: Path) -> None:
    version = train(tmp_path, bestsellers_then_trends(), "auto", budget=0)
    manifest = load_artifact(version).manifest
    trials = [
        row
        for row in manifest["selection"]["leaderboard"]
        if row["family"] == "trending" and row["status"] == "complete"
    ]
    assert trials  # the data is timed, so trending competed
    assert manifest["fallback"]["chosen_on"] == "validation"
    assert manifest["fallback"]["half_life_days"] == trials[0]["params"]["half_life_days"]


def test_validated_half_life_reads_the_best_trending_trial() -> None:
    board = {
        "leaderboard": [
            {"family": "ease", "status": "complete", "params": {"half_life_days": 30.0}},
            {"family": "trending", "status": "complete", "params": {"half_life_days": 4.5}},
            {"family": "trending", "status": "complete", "params": {"half_life_days": 14.0}},
        ]
    }
    assert validated_half_life(board) == 4.5
    assert validated_half_life({"leaderboard": board["leaderboard"][:1]}) is None
    assert validated_half_life(None) is None
