"""The numbers of an evaluation report: per-user metrics with confidence intervals, NDCG by
user-activity and item-popularity bucket, popularity bias, coverage and rating errors.

Arrays in, small dataclasses out; :mod:`.charts` draws them and :mod:`.render` lays them out.
Every ranking number follows :func:`nextbuy.evaluation.evaluate_ranking` (full catalog,
training items excluded, binary relevance), so the model's row equals its manifest metrics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.evaluate import Model, align_to_train
from nextbuy.evaluation.metrics import catalog_coverage, pairs_in, per_user_metrics

#: Per-user metrics shown in the table, in order.
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
#: Two-sided 95 % normal quantile (confidence intervals over users).
Z95 = 1.959963984540054
#: User-activity buckets by training interactions: (label, lowest, highest) inclusive.
USER_BUCKETS = (("cold (1-5)", 1, 5), ("light (6-20)", 6, 20), ("heavy (21+)", 21, None))
#: Item-popularity buckets by rank share of the catalog: head 10 %, mid 40 %, tail 50 %.
ITEM_BUCKETS = (
    ("head (top 10%)", 0.0, 0.1),
    ("mid (10-50%)", 0.1, 0.5),
    ("tail (50-100%)", 0.5, 1.0),
)
#: Rating-count buckets for RMSE (training ratings of the user, or of the item).
COUNT_BUCKETS = (("0", 0, 0), ("1-5", 1, 5), ("6-20", 6, 20), ("21-50", 21, 50), ("51+", 51, None))


@dataclass(frozen=True)
class Estimate:
    """A mean over users with its 95 % normal-approximation interval."""

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        if not len(v):
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(v.mean())
        half = Z95 * float(v.std(ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else 0.0
        return cls(mean, mean - half, mean + half, len(v))

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass
class ModelEvaluation:
    """One model on the test set: per-user estimates, coverage, NDCG by bucket, rating errors."""

    name: str
    k: int
    metrics: dict[str, Estimate]
    coverage: float
    user_buckets: list[Estimate]
    item_buckets: list[Estimate]
    decile_share: np.ndarray  # share of recommendation slots per popularity decile
    recommend_seconds: float
    rmse: float | None = None
    mae: float | None = None
    is_baseline: bool = False


@dataclass
class RatingErrors:
    """Predicted vs actual test ratings and RMSE by how many ratings the user/item had."""

    actual: np.ndarray
    predicted: np.ndarray
    by_user: list[tuple[str, float, int]]  # (bucket, RMSE, n pairs)
    by_item: list[tuple[str, float, int]]


@dataclass
class Truth:
    """Who is evaluated on what: users with test items, their truth rows, their train rows."""

    users: np.ndarray  # int32 user indices
    truth: sp.csr_matrix  # [len(users), n_items]
    seen: sp.csr_matrix  # training rows of those users
    n_test_unknown: int


@dataclass
class ReportData:
    """Everything one report shows."""

    title: str
    manifest: dict[str, Any]
    k: int
    n_train: int
    n_test: int
    n_users: int
    n_items: int
    truth: Truth
    evaluations: list[ModelEvaluation]
    user_bucket_sizes: list[int]
    item_bucket_sizes: list[int]
    decile_interactions: np.ndarray  # share of training interactions per popularity decile
    ratings: RatingErrors | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def ranking_truth(train: Interactions, test: Interactions) -> Truth:
    """Test rows on the train maps, pairs also in train dropped (as evaluate_ranking does)."""
    aligned, n_unknown = align_to_train(test, train)
    users, items = aligned.users.astype(np.int64), aligned.items.astype(np.int64)
    keep = ~pairs_in(train.csr, users, items)
    full = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (users[keep], items[keep])), shape=train.shape
    )
    full.sum_duplicates()
    eval_users = np.flatnonzero(np.diff(full.indptr)).astype(np.int32)
    return Truth(eval_users, full[eval_users], train.csr[eval_users], n_unknown)


def popularity_order(train: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Training users per item, and each item's popularity rank share in [0, 1) (0 = top)."""
    counts = np.diff(train.csr.tocsc().indptr).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    share = np.empty(len(counts), dtype=np.float64)
    share[order] = np.arange(len(counts)) / max(len(counts), 1)
    return counts, share


def _bucket_of(values: np.ndarray, buckets: Sequence[tuple[str, int, int | None]]) -> np.ndarray:
    """Index of the bucket each value falls in (-1: none)."""
    out = np.full(len(values), -1, dtype=np.int64)
    for b, (_, lo, hi) in enumerate(buckets):
        out[(values >= lo) & (values <= (np.inf if hi is None else hi))] = b
    return out


def _item_bucket(share: np.ndarray) -> np.ndarray:
    out = np.zeros(len(share), dtype=np.int64)
    for b, (_, lo, _hi) in enumerate(ITEM_BUCKETS):
        out[share >= lo] = b
    return out


def evaluate_model(
    model: Model,
    name: str,
    truth: Truth,
    train: Interactions,
    k: int,
    is_baseline: bool = False,
) -> ModelEvaluation:
    """Per-user metrics, coverage, buckets and decile shares of one model's top ``k``."""
    start = time.perf_counter()
    recs, _ = model.recommend(truth.users, k=k, exclude_seen=True, user_items=truth.seen)
    seconds = time.perf_counter() - start
    per_user = per_user_metrics(recs, truth.truth, k)
    counts, share = popularity_order(train)
    activity = np.diff(train.csr.indptr)[truth.users]
    user_bucket = _bucket_of(activity, USER_BUCKETS)
    user_est = [Estimate.of(per_user["ndcg"][user_bucket == b]) for b in range(len(USER_BUCKETS))]
    item_bucket = _item_bucket(share)
    item_est = []
    for b in range(len(ITEM_BUCKETS)):  # truth restricted to the bucket's items
        restricted = truth.truth.multiply(item_bucket[None, :] == b).tocsr()
        restricted.eliminate_zeros()
        ndcg = per_user_metrics(recs, restricted, k)["ndcg"]
        item_est.append(Estimate.of(ndcg))
    valid = recs[recs >= 0]
    decile = np.minimum((share[valid] * 10).astype(np.int64), 9)
    deciles = np.bincount(decile, minlength=10) / max(len(valid), 1)
    return ModelEvaluation(
        name=name,
        k=k,
        metrics={m: Estimate.of(per_user[m]) for m in METRICS},
        coverage=catalog_coverage(recs, train.n_items),
        user_buckets=user_est,
        item_buckets=item_est,
        decile_share=deciles,
        recommend_seconds=seconds,
        is_baseline=is_baseline,
    )


def interaction_deciles(train: Interactions) -> np.ndarray:
    """Share of training interactions held by each popularity decile of the catalog."""
    counts, share = popularity_order(train)
    decile = np.minimum((share * 10).astype(np.int64), 9)
    total = max(int(counts.sum()), 1)
    return np.bincount(decile, weights=counts, minlength=10) / total


def rating_errors(model: Model, train: Interactions, test: Interactions) -> RatingErrors:
    """Predictions for every test rating the model can score, and RMSE by rating count."""
    aligned, _ = align_to_train(test, train)
    predicted = np.asarray(model.predict(aligned.users, aligned.items), dtype=np.float64)
    ok = np.isfinite(predicted)
    actual = aligned.values.astype(np.float64)[ok]
    predicted = predicted[ok]
    user_counts = np.diff(train.csr.indptr)[aligned.users[ok]]
    item_counts = np.diff(train.csr.tocsc().indptr)[aligned.items[ok]]
    return RatingErrors(
        actual,
        predicted,
        _rmse_by(user_counts, predicted, actual),
        _rmse_by(item_counts, predicted, actual),
    )


def _rmse_by(counts: np.ndarray, p: np.ndarray, a: np.ndarray) -> list[tuple[str, float, int]]:
    bucket = _bucket_of(counts, COUNT_BUCKETS)
    sq = (p - a) ** 2
    n = np.bincount(bucket[bucket >= 0], minlength=len(COUNT_BUCKETS))
    sums = np.bincount(bucket[bucket >= 0], weights=sq[bucket >= 0], minlength=len(COUNT_BUCKETS))
    return [
        (label, float(np.sqrt(sums[b] / n[b])) if n[b] else math.nan, int(n[b]))
        for b, (label, _, _) in enumerate(COUNT_BUCKETS)
    ]


def item_mean_errors(train: Interactions, test: Interactions) -> tuple[float, float]:
    """RMSE and MAE of predicting each test rating by the item's training mean (a baseline)."""
    aligned, _ = align_to_train(test, train)
    csr = train.csr
    n = np.bincount(csr.indices, minlength=train.n_items)
    sums = np.bincount(csr.indices, weights=csr.data, minlength=train.n_items)
    overall = float(csr.data.mean()) if csr.nnz else 0.0
    means = np.where(n > 0, sums / np.maximum(n, 1), overall)
    p = means[aligned.items]
    a = aligned.values.astype(np.float64)
    return float(np.sqrt(np.mean((p - a) ** 2))), float(np.mean(np.abs(p - a)))


def curves(manifest: dict[str, Any]) -> dict[str, list[float]]:
    """Per-epoch series of the manifest's training history (lists of numbers only)."""
    history = manifest.get("history") or {}
    out = {}
    for key, values in history.items():
        if (
            isinstance(values, list)
            and len(values) > 1
            and all(isinstance(v, (int, float)) for v in values)
        ):
            out[str(key)] = [float(v) for v in values]
    return out


def user_bucket_sizes(train: Interactions, truth: Truth) -> list[int]:
    activity = np.diff(train.csr.indptr)[truth.users]
    bucket = _bucket_of(activity, USER_BUCKETS)
    return [int((bucket == b).sum()) for b in range(len(USER_BUCKETS))]


def item_bucket_sizes(train: Interactions) -> list[int]:
    _, share = popularity_order(train)
    bucket = _item_bucket(share)
    return [int((bucket == b).sum()) for b in range(len(ITEM_BUCKETS))]


def rmse_of(errors: RatingErrors) -> float:
    """RMSE over the predicted test ratings."""
    d = errors.predicted - errors.actual
    return float(np.sqrt(np.mean(d**2))) if len(d) else math.nan


def mae_of(errors: RatingErrors) -> float:
    """MAE over the predicted test ratings."""
    d = errors.predicted - errors.actual
    return float(np.mean(np.abs(d))) if len(d) else math.nan
