"""`nextbuy train` without --model runs auto: leaderboard printed and in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_train_defaults_to_auto_and_evaluate_shows_the_leaderboard(
    shop_dir: Path, tmp_path: Path
) -> None:
    from nextbuy.artifacts import load_artifact

    proc = run_cli(
        "train", "--data", str(shop_dir / "interactions.csv"), "--out", str(tmp_path / "m"),
        "--budget", "0", "--split", "user", "--quiet",
    )  # fmt: skip
    assert "model selection: ndcg@10 on validation" in proc.stdout
    assert "winner" in proc.stdout and "against popularity" in proc.stdout
    art = load_artifact(tmp_path / "m" / "auto")
    selection = art.manifest["selection"]
    board = selection["leaderboard"]
    assert selection["winner"]["family"] == art.manifest["model"] == board[0]["family"]
    assert {row["family"] for row in board} >= {"popularity", "ease", "ials", "mf"}
    for row in board:
        assert set(row) >= {"family", "params", "value", "fit_seconds", "status", "reason"}
    assert "per-user random 20% of the training data" in selection["validation"]

    (tmp_path / "test.csv").write_text((shop_dir / "interactions.csv").read_text())
    proc = run_cli(
        "evaluate", "--model-dir", str(tmp_path / "m" / "auto"),
        "--test", str(tmp_path / "test.csv"), "--json", str(tmp_path / "e.json"),
    )  # fmt: skip
    assert "model selection" in proc.stdout
    assert json.loads((tmp_path / "e.json").read_text())[0]["model"] == art.manifest["model"]


def test_bad_budget_or_metric_is_one_line_exit_2(shop_dir: Path, tmp_path: Path) -> None:
    data = str(shop_dir / "interactions.csv")
    for args, words in [
        (("--budget", "soon"), "expected a duration such as 90s"),
        (("--model", "ease", "--budget", "1m"), "--budget and --metric choose how"),
        (("--set", "factors=8"), "--model auto searches every family"),
    ]:
        proc = run_cli("train", "--data", data, "--out", str(tmp_path / "m"), *args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr.replace("\n", " ") and "Traceback" not in proc.stderr
