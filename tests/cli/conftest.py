"""CLI fixtures: one ALS model trained by the real ``nextbuy train`` on the small shop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="session")
def als_dir(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MODELS_DIR/als: ALS with the shop's catalog (some items out of stock)."""
    models = tmp_path_factory.mktemp("models")
    proc = run_cli(
        "train",
        "--data",
        str(shop_dir / "interactions.csv"),
        "--items",
        str(shop_dir / "items.csv"),
        "--model",
        "als",
        "--set",
        "factors=16",
        "--set",
        "iterations=5",
        "--split",
        "user",
        "--out",
        str(models),
        "--quiet",
    )
    assert "ndcg@10" in proc.stdout.lower()
    assert "saved" in proc.stdout
    return models / "als"


@pytest.fixture(scope="session")
def reviews(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop's 1-5 ratings as an Amazon-reviews-style JSON lines file (reviewerID, asin,
    overall as 5.0, unixReviewTime, summary): no column has a name NextBuy knows."""
    import pandas as pd

    ratings = pd.read_csv(shop_dir / "ratings.csv", dtype={"user_id": str, "item_id": str})
    frame = pd.DataFrame(
        {
            "reviewerID": "A" + ratings["user_id"].str.upper(),
            "asin": "B0" + ratings["item_id"].str.upper(),
            "overall": ratings["rating"].astype(float),
            "unixReviewTime": ratings["timestamp"],
            "summary": "review " + ratings.index.astype(str),
        }
    )
    path = tmp_path_factory.mktemp("reviews") / "reviews.jsonl"
    frame.to_json(path, orient="records", lines=True)
    return path


#: The column options that read :func:`reviews`.
REVIEW_COLUMNS = ("--user-col", "reviewerID", "--item-col", "asin", "--time-col", "unixReviewTime")
