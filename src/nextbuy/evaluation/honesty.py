"""Honest evaluation output: which split was used, and a warning when a model loses to popularity.

A recommender earns its place only by beating the bestseller list on the shop's own data, so
every evaluation table names its split and is followed by these warnings.
"""

from __future__ import annotations

from collections.abc import Sequence

from nextbuy.evaluation.evaluate import EvaluationResult

#: Words for each split method, as tables and manifests say them.
SPLIT_WORDS = {
    "random": "random split",
    "user": "per-user random split",
    "time": "temporal split (global cutoff)",
    "last": "leave-last-one-out split",
    "latest": "temporal split (each user's latest interactions)",
    "none": "no split",
    "test file": "the given test file",
}


def split_words(method: str) -> str:
    """``"latest"`` -> ``"temporal split (each user's latest interactions)"``."""
    return SPLIT_WORDS.get(method, f"{method} split")


def baseline_warnings(
    results: Sequence[EvaluationResult],
    baseline: str = "popularity",
    metric: str = "ndcg@10",
    split: str | None = None,
) -> list[str]:
    """One line per result that does not beat ``baseline`` on ``metric`` (empty when all do).

    Nothing is said when the baseline or the metric is missing (e.g. rating-only tables).
    """
    base = next((r for r in results if r.model == baseline), None)
    if base is None or metric not in base.metrics:
        return []
    floor = float(base.metrics[metric])
    where = f" on the {split_words(split)}" if split else ""
    return [
        f"warning: {r.model} does not beat {baseline} on {metric.upper()} "
        f"({float(r.metrics[metric]):.4f} vs {floor:.4f}){where}; a bestseller list does as well"
        for r in results
        if r.model != baseline and metric in r.metrics and float(r.metrics[metric]) <= floor
    ]
