"""Evaluation protocols (DESIGN section 7): full-catalog top-K ranking and rating prediction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.concentration import SAME_TOP, same_top_share
from nextbuy.evaluation.metrics import mae, pairs_in, ranking_metrics, rmse


class Model(Protocol):
    """What the protocols need of a model (``nextbuy.models.base.Recommender`` has it).

    A protocol, not an import: models use :mod:`nextbuy.evaluation.snapshot` while training,
    so the evaluation package must not import the models back.
    """

    @property
    def name(self) -> str: ...

    @property
    def predicts_ratings(self) -> bool: ...

    n_users_: int
    n_items_: int

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def recommend(
        self,
        users: np.ndarray,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        user_items: sp.spmatrix | None = None,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray: ...


@dataclass
class EvaluationResult:
    """One model's scores under one protocol, with the counts needed to read them honestly.

    ``metrics`` keys look like ``"ndcg@10"`` (ranking) and ``"rmse"`` (ratings).
    ``n_users``: users averaged over (those with at least one relevant, scorable test item).
    ``n_test_unknown``: test rows dropped because the user or item is unknown to the training
    data's ID maps (or, for ratings, the model returned NaN). ``n_test_seen``: test rows
    dropped from the ranking truth because the pair is also in train (train items are
    excluded from the ranking, so they could never be hits).
    """

    model: str
    k: int
    n_users: int
    metrics: dict[str, float]
    fit_seconds: float | None = None
    recommend_seconds: float | None = None
    n_test_unknown: int = 0
    n_test_seen: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (used by reports, manifests and the benchmark scripts)."""
        return {
            "model": self.model,
            "k": self.k,
            "n_users": self.n_users,
            "metrics": dict(self.metrics),
            "fit_seconds": self.fit_seconds,
            "recommend_seconds": self.recommend_seconds,
            "n_test_unknown": self.n_test_unknown,
            "n_test_seen": self.n_test_seen,
            "params": dict(self.params),
        }


def align_to_train(test: Interactions, train: Interactions) -> tuple[Interactions, int]:
    """``test`` re-indexed onto ``train``'s ID maps, and how many rows were unknown (dropped).

    Splits that keep the full maps (DESIGN protocol B) share maps, so nothing is dropped.
    """
    if test.user_map == train.user_map and test.item_map == train.item_map:
        return test, 0
    aligned = test.with_maps(train.user_map, train.item_map)
    return aligned, len(test) - len(aligned)


def _check_shapes(model: Model, train: Interactions) -> None:
    if (model.n_users_, model.n_items_) != train.shape:
        raise ValueError(
            f"model {model.name!r} was fitted on {model.n_users_} users x {model.n_items_} items "
            f"but train has {train.n_users} x {train.n_items}; evaluate with the training data"
        )


def evaluate_ranking(
    model: Model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    batch_size: int = 1024,
    relevance_threshold: float | None = None,
    label: str | None = None,
) -> EvaluationResult:
    """Top-``k`` metrics ranking ALL items, each user's training items excluded.

    The truth is every test row (binary relevance), or those with ``value >=
    relevance_threshold`` for explicit data (e.g. 4.0 = "liked"). Test rows whose user or item
    is unknown to ``train``'s maps are dropped and counted in ``n_test_unknown``; test pairs
    also present in train are dropped and counted in ``n_test_seen``. Recommendations are made
    for the users with at least one remaining test item, ``batch_size`` users at a time (memory
    stays proportional to ``batch_size x n_items``), and ``recommend_seconds`` times that.
    """
    _check_shapes(model, train)
    aligned, n_unknown = align_to_train(test, train)
    users, items = aligned.users.astype(np.int64), aligned.items.astype(np.int64)
    keep = np.ones(len(users), dtype=bool)
    if relevance_threshold is not None:
        keep &= aligned.values >= relevance_threshold
    seen = keep & pairs_in(train.csr, users, items)
    keep &= ~seen

    truth_all = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (users[keep], items[keep])),
        shape=train.shape,
    )
    truth_all.sum_duplicates()
    eval_users = np.flatnonzero(np.diff(truth_all.indptr)).astype(np.int32)
    truth = truth_all[eval_users]

    seen_rows = train.csr[eval_users]  # excluded (exclude_seen): never shown, never a hit
    start = time.perf_counter()
    recs, _ = model.recommend(
        eval_users, k=k, exclude_seen=True, user_items=seen_rows, batch_size=batch_size
    )
    seconds = time.perf_counter() - start

    # with no evaluable users every average is NaN (shown as "-"), never a missing key
    metrics = ranking_metrics(recs, truth, k=k, n_items=train.n_items)
    if model.predicts_ratings:  # ranking by rating can crown one rarely rated item for all
        metrics[SAME_TOP] = same_top_share(recs)
    return EvaluationResult(
        model=label or model.name,
        k=k,
        n_users=len(eval_users),
        metrics=metrics,
        recommend_seconds=seconds,
        n_test_unknown=n_unknown,
        n_test_seen=int(seen.sum()),
        params=model.get_params(),
    )


def _rating_errors(
    model: Model, test: Interactions, train: Interactions | None
) -> tuple[dict[str, float], int]:
    """RMSE/MAE over the pairs the model can predict, and the number of rows skipped."""
    n_unknown = 0
    if train is not None:
        test, n_unknown = align_to_train(test, train)
    if getattr(model, "uses_timestamps", False) and bool((test.timestamps != 0).all()):
        at: Any = model  # bpmf with timeSVD++ terms: predict(..., timestamps=) per pair
        raw = at.predict(test.users, test.items, timestamps=test.timestamps)
    else:
        raw = model.predict(test.users, test.items)
    predicted = np.asarray(raw, dtype=np.float64)
    ok = np.isfinite(predicted)
    actual = test.values[ok]
    metrics = {"rmse": rmse(predicted[ok], actual), "mae": mae(predicted[ok], actual)}
    return metrics, n_unknown + int((~ok).sum())


def evaluate_ratings(
    model: Model, test: Interactions, train: Interactions | None = None
) -> dict[str, float]:
    """``{"rmse", "mae"}`` of ``model.predict`` against the test ratings.

    With ``train``, test rows are first re-indexed onto its maps (unknown IDs dropped);
    without it, ``test`` must already share the model's index space (as splits produce).
    Pairs the model returns NaN for (unknown user or item) are skipped, not imputed:
    clipping and fallbacks are the model's job. :func:`evaluate` reports how many.
    """
    return _rating_errors(model, test, train)[0]


def evaluate(
    model: Model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    fit_seconds: float | None = None,
    *,
    batch_size: int = 1024,
    relevance_threshold: float | None = None,
    ratings: bool | None = None,
    label: str | None = None,
) -> EvaluationResult:
    """Ranking metrics always; RMSE/MAE too when ``ratings`` (default: the model predicts
    ratings and ``test`` is explicit). ``n_test_unknown`` counts rows either protocol skipped.
    """
    result = evaluate_ranking(
        model,
        train,
        test,
        k=k,
        batch_size=batch_size,
        relevance_threshold=relevance_threshold,
        label=label,
    )
    result.fit_seconds = fit_seconds
    if ratings is None:
        ratings = model.predicts_ratings and test.explicit
    if ratings:
        rating_metrics, skipped = _rating_errors(model, test, train)
        result.metrics.update(rating_metrics)
        result.n_test_unknown = max(result.n_test_unknown, skipped)
    return result
