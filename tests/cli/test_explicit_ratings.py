"""Explicit ratings under any column name (issue 11, item 1), on Amazon-style reviews.

A 1-5 star column called ``overall`` is read as ratings with ``--rating-col`` (or
``--explicit --value-col``), ``train`` and ``data describe`` say how the data was read and why,
and ``--positive-threshold`` turns ratings into positives for ranking models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import REVIEW_COLUMNS
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def stars(reviews: Path) -> pd.DataFrame:
    return pd.read_json(reviews, lines=True, dtype={"reviewerID": str, "asin": str})


@pytest.mark.parametrize(
    "options",
    [("--rating-col", "overall"), ("--explicit", "--value-col", "overall")],
    ids=["rating-col", "explicit-value-col"],
)
def test_mf_trains_on_a_star_column_named_anything(
    reviews: Path, tmp_path: Path, options: tuple[str, ...]
) -> None:
    from nextbuy.artifacts import load_artifact

    proc = run_cli(
        "train", "--data", str(reviews), *REVIEW_COLUMNS, *options, "--model", "mf",
        "--set", "epochs=3", "--split", "random", "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    assert "data: explicit ratings 1-5 from column 'overall': named as the rating column" in (
        proc.stdout.replace("\n", " ")
    )
    assert "rmse" in proc.stdout.lower()
    art = load_artifact(tmp_path / "m" / "mf")
    assert art.manifest["explicit"] is True and art.manifest["rating_range"] == [1.0, 5.0]
    assert art.manifest["config"]["data"]["value_col"] == "overall"
    assert art.manifest["config"]["data"]["explicit"] is True


def test_a_plain_value_column_stays_implicit_and_says_how_to_change_that(
    reviews: Path, tmp_path: Path
) -> None:
    proc = run_cli(
        "train", "--data", str(reviews), *REVIEW_COLUMNS, "--value-col", "overall",
        "--model", "popularity", "--split", "none", "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    line = proc.stdout.replace("\n", " ")
    assert "data: implicit feedback from column 'overall'" in line
    assert "values 1-5 look like ratings: --rating-col overall reads them as ratings" in line

    proc = run_cli(
        "train", "--data", str(reviews), *REVIEW_COLUMNS, "--value-col", "overall",
        "--model", "mf", "--out", str(tmp_path / "m"), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--rating-col" in proc.stderr and "--value-col rating" not in proc.stderr


def test_positive_threshold_keeps_liked_items_as_positives(reviews: Path, tmp_path: Path) -> None:
    from nextbuy.artifacts import load_artifact

    proc = run_cli(
        "train", "--data", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall",
        "--positive-threshold", "4", "--model", "ease", "--split", "none",
        "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    frame = stars(reviews)
    liked = frame[frame["overall"] >= 4]
    n_pairs = len(liked.drop_duplicates(["reviewerID", "asin"]))
    line = proc.stdout.replace("\n", " ")
    assert f"ease learns from ratings >= 4 as positives ({len(liked):,} of {len(frame):,}" in line
    art = load_artifact(tmp_path / "m" / "ease")
    assert art.seen.nnz == n_pairs and set(art.seen.data.tolist()) == {1.0}
    assert art.manifest["explicit"] is False
    assert art.manifest["config"]["data"]["positive_threshold"] == 4.0

    # without the threshold a ranking model says what it does with the ratings
    proc = run_cli(
        "train", "--data", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall",
        "--model", "ease", "--split", "none", "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    assert "--positive-threshold 4 keeps only ratings >= 4" in proc.stdout.replace("\n", " ")


def test_rating_scale_is_checked_and_bad_scales_are_one_line(reviews: Path, tmp_path: Path) -> None:
    base = ("data", "describe", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall")
    proc = run_cli(*base, "--rating-scale", "1-5")
    assert "data: explicit ratings 1-5 from column 'overall'" in proc.stdout
    assert "scale given" in proc.stdout
    for scale, words in [("2-4", "expected a rating from 2 to 4"), ("five", "expected LOW-HIGH")]:
        proc = run_cli(*base, "--rating-scale", scale, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_describe_says_explicit_or_implicit_and_counts_positives(reviews: Path) -> None:
    proc = run_cli(
        "data", "describe", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall",
        "--positive-threshold", "4", "--json",
    )  # fmt: skip
    stats = json.loads(proc.stdout)
    frame = stars(reviews)
    assert stats["explicit"] is True and stats["feedback"].startswith("explicit ratings 1-5")
    assert stats["positives"] == int((frame["overall"] >= 4).sum())
    assert stats["ratings"] == {str(k): int(v) for k, v in frame["overall"].value_counts().items()}

    proc = run_cli("data", "describe", str(reviews), *REVIEW_COLUMNS, "--value-col", "overall")
    assert proc.stdout.startswith("data: implicit feedback from column 'overall'")


def test_contradicting_rating_options_are_refused(reviews: Path) -> None:
    for extra in (("--value-col", "summary"), ("--implicit",)):
        proc = run_cli(
            "data", "describe", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall", *extra,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 2 and "--rating-col" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_evaluate_holds_the_test_ratings_to_the_models_threshold(
    reviews: Path, tmp_path: Path
) -> None:
    run_cli(
        "data", "split", str(reviews), *REVIEW_COLUMNS, "--rating-col", "overall",
        "--method", "user", "--out", str(tmp_path / "split"),
    )  # fmt: skip
    run_cli(
        "train", "--data", str(tmp_path / "split" / "train.csv"), "--positive-threshold", "4",
        "--model", "ease", "--split", "none", "--out", str(tmp_path / "m"), "--quiet",
    )  # fmt: skip
    proc = run_cli(
        "evaluate", "--model-dir", str(tmp_path / "m" / "ease"),
        "--test", str(tmp_path / "split" / "test.csv"), "--json", str(tmp_path / "e.json"),
    )  # fmt: skip
    test = pd.read_csv(tmp_path / "split" / "test.csv")
    liked = int((test["rating"] >= 4).sum())
    assert f"{liked:,} of {len(test):,} test rows are such positives" in proc.stderr.replace(
        "\n", " "
    )
    assert json.loads((tmp_path / "e.json").read_text())[0]["metrics"]["ndcg@10"] > 0
