"""Evaluation results as a rich table (terminal), a markdown table (README) or JSON rows."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from nextbuy.evaluation.evaluate import EvaluationResult
from nextbuy.evaluation.metrics import RANKING_METRICS, RATING_METRICS

#: Display labels for metric names (keys stay lower-case, e.g. ``"ndcg@10"``).
LABELS = {
    "precision": "P",
    "recall": "R",
    "ndcg": "NDCG",
    "map": "MAP",
    "mrr": "MRR",
    "hit_rate": "HR",
    "coverage": "Cov",
    "rmse": "RMSE",
    "mae": "MAE",
    "same_top1": "same #1",
}
_ORDER = {name: i for i, name in enumerate(RANKING_METRICS + RATING_METRICS)}


def metric_label(key: str) -> str:
    """``"ndcg@10"`` -> ``"NDCG@10"``; unknown names are returned as given."""
    name, sep, k = key.partition("@")
    return f"{LABELS.get(name, name)}{sep}{k}"


def metric_columns(results: list[EvaluationResult]) -> list[str]:
    """Metric keys present in any result: ranking metrics by K, then rating metrics, then others."""
    keys = {key for r in results for key in r.metrics}

    def sort_key(key: str) -> tuple[int, int, str]:
        name, _, k = key.partition("@")
        return (int(k) if k.isdigit() else 1 << 30, _ORDER.get(name, len(_ORDER)), key)

    return sorted(keys, key=sort_key)


def _number(value: float | None, digits: int) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.{digits}f}"


def _rows(
    results: list[EvaluationResult], metrics: list[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in metric_columns(results) if metrics is None or c.split("@")[0] in metrics]
    header = ["model", *(metric_label(c) for c in columns), "fit s", "rec s"]
    rows = [
        [
            r.model,
            *(_number(r.metrics.get(c), 4) for c in columns),
            _number(r.fit_seconds, 2),
            _number(r.recommend_seconds, 2),
        ]
        for r in results
    ]
    return header, rows


def results_table(
    results: list[EvaluationResult], title: str = "Evaluation", metrics: list[str] | None = None
) -> Table:
    """A rich table: one row per result, metrics to 4 decimals, times in seconds.

    ``metrics`` keeps only those metric names (e.g. ``["ndcg", "recall", "rmse"]``).
    """
    header, rows = _rows(results, metrics)
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(
            name, justify="left" if i == 0 else "right", no_wrap=True, min_width=len(name)
        )
    for row in rows:
        table.add_row(*row)
    return table


def results_markdown(results: list[EvaluationResult]) -> str:
    """A GitHub markdown table (numbers right-aligned), ending with a newline."""
    header, rows = _rows(results)
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def results_json(results: list[EvaluationResult]) -> list[dict[str, Any]]:
    """One plain dict per result (see :meth:`EvaluationResult.to_dict`); NaN becomes None."""
    out = []
    for r in results:
        row = r.to_dict()
        row["metrics"] = {k: (None if v != v else v) for k, v in row["metrics"].items()}
        out.append(row)
    return out
