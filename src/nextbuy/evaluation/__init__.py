"""Evaluation: vectorized metrics, the protocol runner and result reports."""

from nextbuy.evaluation.evaluate import (
    EvaluationResult,
    align_to_train,
    evaluate,
    evaluate_ranking,
    evaluate_ratings,
)
from nextbuy.evaluation.metrics import (
    catalog_coverage,
    hit_matrix,
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    per_user_metrics,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    rmse,
)
from nextbuy.evaluation.report import results_json, results_markdown, results_table

__all__ = [
    "EvaluationResult",
    "align_to_train",
    "catalog_coverage",
    "evaluate",
    "evaluate_ranking",
    "evaluate_ratings",
    "hit_matrix",
    "hit_rate_at_k",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "per_user_metrics",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "results_json",
    "results_markdown",
    "results_table",
    "rmse",
]
