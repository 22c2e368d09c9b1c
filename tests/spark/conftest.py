"""Spark fixtures: ONE local SparkSession for the whole test session, and a shop whose IDs
look like numbers ("007", "7", "0007" are three users), trained once with ``--engine spark``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.serving.conftest import read_shop

pytest.importorskip("pyspark")

#: Small and quiet: two cores, four shuffle partitions, no web UI, a small driver heap.
TEST_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "false",
}
#: Training settings of the shared model (fast, still personal).
TRAIN_SETTINGS = ["factors=16", "iterations=8", "num_user_blocks=2", "num_item_blocks=2"]
#: Shop IDs renamed to strings that a careless reader would turn into the same number.
USER_RENAMES = {"u00001": "007", "u00002": "7", "u00003": "0007"}
ITEM_RENAMES = {"p00001": "00123", "p00002": "123"}


@pytest.fixture(scope="session")
def spark():
    """The session every Spark test shares (started once; reused if one is running)."""
    from nextbuy.spark.session import SparkOptions, get_session

    return get_session(SparkOptions(master="local[2]", conf=dict(TEST_CONF)))


@dataclass
class SparkShop:
    """The renamed shop on disk and the artifact ``train --engine spark`` made of it."""

    data: Path  # interactions.csv with the renamed IDs
    items: Path  # items.csv, renamed too
    events: pd.DataFrame
    catalog: pd.DataFrame
    models: Path  # MODELS_DIR holding "shop"
    output: str  # what the train command printed


def renamed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the numeric-looking IDs of USER_RENAMES / ITEM_RENAMES."""
    out = frame.copy()
    if "user_id" in out.columns:
        out["user_id"] = out["user_id"].replace(USER_RENAMES)
    out["item_id"] = out["item_id"].replace(ITEM_RENAMES)
    return out


@pytest.fixture(scope="session")
def spark_shop(spark, shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SparkShop:
    """``nextbuy train --engine spark`` on the renamed shop (in-process CLI, shared session)."""
    from nextbuy.cli import app

    root = tmp_path_factory.mktemp("spark-shop")
    events, _, items = read_shop(shop_dir)
    events, items = renamed(events), renamed(items)
    data, catalog = root / "interactions.csv", root / "items.csv"
    events.to_csv(data, index=False)
    items.to_csv(catalog, index=False)
    models = root / "models"
    args = ["train", "--engine", "spark", "--spark-master", "local[2]", "--data", str(data),
            "--items", str(catalog), "--out", str(models), "--name", "shop",
            "--split", "user"]  # fmt: skip
    for setting in TRAIN_SETTINGS:
        args += ["--set", setting]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return SparkShop(data, catalog, events, items, models, result.output)
