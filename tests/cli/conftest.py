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
