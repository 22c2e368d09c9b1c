"""A tuned config works as is (issue 11, item 2): options given on the command line override
the config file, the options' defaults never do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nextbuy.cli.options import Columns
from tests.cli.conftest import REVIEW_COLUMNS
from tests.conftest import run_cli

CUSTOM = {
    "data": {
        "user_col": "customer",
        "item_col": "sku",
        "value_col": "stars",
        "explicit": True,
        "rating_scale": "1-5",
        "positive_threshold": 4,
        "format": "jsonl",
    }
}


@pytest.fixture
def custom_config(tmp_path: Path) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(CUSTOM))
    return path


def test_defaults_of_the_options_leave_the_config_alone(custom_config: Path) -> None:
    data = Columns().config(custom_config).data
    assert (data.user_col, data.item_col, data.value_col) == ("customer", "sku", "stars")
    assert data.explicit is True and data.rating_scale == (1.0, 5.0)
    assert data.positive_threshold == 4 and data.format == "jsonl"


def test_given_options_override_the_config(custom_config: Path) -> None:
    cfg = Columns(user_col="buyer", rating_col="score", fmt="csv").config(custom_config, 3.5)
    data = cfg.data
    assert (data.user_col, data.item_col, data.value_col) == ("buyer", "sku", "score")
    assert data.explicit is True and data.format == "csv" and data.positive_threshold == 3.5
    assert Columns(explicit=False).config(custom_config).data.explicit is False
    assert Columns(rating_scale="0-10").config(custom_config).data.rating_scale == (0.0, 10.0)


def test_without_a_config_the_options_default_to_user_id_and_item_id() -> None:
    columns = Columns().column_map()
    assert (columns.user, columns.item, columns.value, columns.explicit) == (
        "user_id",
        "item_id",
        None,
        None,
    )


@pytest.mark.slow
def test_a_tuned_config_trains_the_same_data_as_is(reviews: Path, tmp_path: Path) -> None:
    from nextbuy.artifacts import load_artifact

    tuned = tmp_path / "t.yaml"
    proc = run_cli(
        "tune", "--data", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall",
        "--positive-threshold", "4", "--model", "ease", "--trials", "2", "--out", str(tuned),
    )  # fmt: skip
    written = yaml.safe_load(tuned.read_text())["data"]
    assert (written["user_col"], written["item_col"], written["value_col"]) == (
        "reviewerID",
        "asin",
        "overall",
    )
    assert written["explicit"] is True and written["positive_threshold"] == 4.0
    assert "reference: popularity on the same validation slice: ndcg@10 = " in proc.stdout

    proc = run_cli(
        "train", "--config", str(tuned), "--data", str(reviews), "--split", "none",
        "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    assert "ease learns from ratings >= 4 as positives" in proc.stdout.replace("\n", " ")
    art = load_artifact(tmp_path / "m" / "ease")
    assert art.user_map.ids[0].startswith("A") and art.item_map.ids[0].startswith("B0")
    tuned_params = yaml.safe_load(tuned.read_text())["model"]["params"]
    if tuned_params["regularization"] == "auto":  # the defaults won: the density rule ran
        assert isinstance(art.manifest["params"]["regularization"], float)
    else:
        assert art.manifest["params"]["regularization"] == tuned_params["regularization"]

    # an option given on the command line still wins over the tuned file
    proc = run_cli(
        "train", "--config", str(tuned), "--data", str(reviews), "--user-col", "asin",
        "--item-col", "reviewerID", "--split", "none", "--out", str(tmp_path / "swapped"),
        "--quiet",
    )  # fmt: skip
    assert load_artifact(tmp_path / "swapped" / "ease").user_map.ids[0].startswith("B0")
