"""Reports: markdown, rich and JSON renderings of evaluation results."""

from __future__ import annotations

import json
import math

from rich.console import Console

from nextbuy.evaluation import EvaluationResult, results_json, results_markdown, results_table
from nextbuy.evaluation.report import metric_columns, metric_label


def _results() -> list[EvaluationResult]:
    als = EvaluationResult(
        model="als",
        k=10,
        n_users=900,
        metrics={"ndcg@10": 0.41234, "precision@10": 0.3, "coverage@10": 0.25},
        fit_seconds=1.234,
        recommend_seconds=0.5,
    )
    mf = EvaluationResult(
        model="mf",
        k=10,
        n_users=900,
        metrics={"precision@10": 0.1, "ndcg@10": float("nan"), "rmse": 0.91, "mae": 0.72},
    )
    return [als, mf]


def test_columns_are_ordered_and_labelled() -> None:
    assert metric_columns(_results()) == [
        "precision@10",
        "ndcg@10",
        "coverage@10",
        "rmse",
        "mae",
    ]
    assert metric_label("hit_rate@5") == "HR@5" and metric_label("custom") == "custom"


def test_markdown_table() -> None:
    md = results_markdown(_results())
    lines = md.splitlines()
    assert lines[0] == ("| model | P@10 | NDCG@10 | Cov@10 | RMSE | MAE | fit s | rec s |")
    assert lines[1] == "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert lines[2] == "| als | 0.3000 | 0.4123 | 0.2500 | - | - | 1.23 | 0.50 |"
    assert lines[3] == "| mf | 0.1000 | - | - | 0.9100 | 0.7200 | - | - |"
    assert md.endswith("\n")


def test_rich_table_renders() -> None:
    table = results_table(_results(), title="held-out")
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "held-out" in text and "NDCG@10" in text and "0.4123" in text and "1.23" in text
    assert len(table.rows) == 2


def test_json_is_plain_and_nan_free() -> None:
    rows = results_json(_results())
    text = json.dumps(rows, allow_nan=False)
    back = json.loads(text)
    assert back[0]["model"] == "als" and back[0]["metrics"]["ndcg@10"] == 0.41234
    assert back[1]["metrics"]["ndcg@10"] is None and back[1]["fit_seconds"] is None
    assert back[0]["n_users"] == 900 and back[0]["k"] == 10
    assert math.isnan(_results()[1].metrics["ndcg@10"])  # results themselves are untouched
