"""The validation slice of ``--model auto``: carved from training data only, scored fast.

The slice is of the same kind as the user's split: per user for random/user splits (random
rows for rmse), a global time cutoff for ``time``, each user's latest interactions for
``last`` and, when no split is named, whenever the data has timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import has_timestamps as every_row_timed
from nextbuy.errors import ConfigError
from nextbuy.evaluation.metrics import per_user_metrics, rmse, user_mean
from nextbuy.models.base import Recommender
from nextbuy.retrieval import topk

#: Largest validation score matrix (users x items) scored at once, ~80 MB of float32.
MAX_SCORE_CELLS = 20_000_000
#: Metric kinds ``--metric`` accepts (with ``@K`` for the ranking ones), higher is better.
RANKING_METRICS = ("ndcg", "recall", "map", "precision", "hit_rate")


def parse_metric(metric: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ("ndcg", 10); ``"rmse"`` -> ("rmse", 0); a clear error otherwise."""
    name, _, k = metric.strip().lower().partition("@")
    if name == "rmse" and not k:
        return "rmse", 0
    if name in RANKING_METRICS and k.isdigit() and int(k) >= 1:
        return name, int(k)
    raise ConfigError(
        f"--metric {metric!r}: expected ndcg@K, recall@K, map@K, precision@K, hit_rate@K "
        "(e.g. ndcg@10) or rmse"
    )


def has_timestamps(inter: Interactions) -> bool:
    """True when the rows carry distinct timestamps (a temporal split means something)."""
    ts = inter.timestamps
    return len(ts) > 1 and int(ts.max()) > int(ts.min())


#: Split methods (and their aliases) whose test set is each user's latest interactions;
#: ``auto`` and ``none`` (a separate test file) mean that too when the data has timestamps.
_PER_USER_LATEST = frozenset({"last", "leave_last", "leave-last", "loo", "latest", "user_latest"})


def validation_kind(split_method: str, inter: Interactions, metric: str) -> str:
    """The validation split mirroring the user's: user, random, time or latest (per user)."""
    method = split_method.strip().lower()
    timed = has_timestamps(inter)
    if method in ("time", "temporal") and timed:
        return "time"
    if method in ("none", "auto"):  # temporal exactly when the data split's auto is
        return "latest" if every_row_timed(inter) else _random_kind(metric)
    if method in _PER_USER_LATEST:
        return "latest" if timed else "user"
    return _random_kind(metric)


def _random_kind(metric: str) -> str:
    return "random" if metric == "rmse" else "user"


#: Groups of users the further ``latest`` slices validate in turn (slice f: group f - 1).
USER_GROUPS = 2


def carve(
    inter: Interactions, kind: str, fraction: float = 0.2, seed: int = 42, fold: int = 0
) -> tuple[Interactions, Interactions]:
    """(fit part, validation part) of ``inter`` by ``kind`` (see :func:`validation_kind`).

    Random kinds carve with ``seed``. ``latest`` slice 0 holds out every user's latest
    ``fraction``; slice ``fold >= 1`` only that of one of :data:`USER_GROUPS` seeded groups
    of users (the others fit on all their rows): still each user's past against what came
    next, with a fit part nearer the whole training data's size than slice 0's, since a
    slice that trains on less data (an earlier origin) favours the families that need less.
    """
    from nextbuy.data.split import split

    if kind != "latest":
        return split(inter, kind, test_fraction=fraction, seed=seed)
    if fold < 0:
        raise ValueError(f"validation fold must be >= 0, got {fold}")
    if fold > USER_GROUPS:
        raise ValueError(
            f"latest validation fold {fold} would repeat slice {fold - USER_GROUPS}: "
            f"at most {USER_GROUPS} further slices (one per group of users)"
        )
    users = inter.users
    counts = np.bincount(users, minlength=inter.n_users)
    n_test = np.clip(np.floor(fraction * counts + 0.5), 1, np.maximum(counts - 1, 0))
    n_test[counts < 2] = 0
    if fold:
        group = np.empty(inter.n_users, dtype=np.int64)
        group[np.random.default_rng(seed).permutation(inter.n_users)] = (
            np.arange(inter.n_users) % USER_GROUPS
        )
        n_test[group != fold - 1] = 0
    order = np.lexsort((np.arange(len(inter)), inter.timestamps, users))
    su = users[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    from_end = counts[su] - 1 - (np.arange(len(su)) - starts[su])
    test = np.zeros(len(inter), dtype=bool)
    test[order] = from_end < n_test[su]
    return inter.subset(~test), inter.subset(test)


@dataclass
class Validator:
    """Scores models (or score matrices) on one validation slice with one metric."""

    fit_part: Interactions
    valid: Interactions
    metric: str
    kind: str
    users: np.ndarray  # validation users scored (a seeded sample when there are many)
    truth: sp.csr_matrix  # their validation items (rows aligned with ``users``)
    seen: sp.csr_matrix  # their fit-part items, never recommended

    @classmethod
    def build(
        cls,
        inter: Interactions,
        metric: str,
        kind: str,
        seed: int = 42,
        max_users: int = 3000,
        fold: int = 0,
    ) -> Validator:
        """Carve slice ``fold`` and index its truth; at most ``max_users`` users are scored
        (fewer on large catalogues: :data:`MAX_SCORE_CELLS`)."""
        fit_part, valid = carve(inter, kind, seed=seed, fold=fold)
        if len(valid) == 0 or len(fit_part) == 0:
            raise ConfigError(
                "--model auto: too little data to carve a validation slice from the training "
                f"data ({len(inter):,} rows); name a model with --model"
            )
        truth = sp.csr_matrix(
            (np.ones(len(valid), dtype=np.float32), (valid.users, valid.items)),
            shape=inter.shape,
        )
        truth = truth - truth.multiply(fit_part.csr.astype(bool))  # seen pairs are no test
        truth.eliminate_zeros()
        users = np.flatnonzero(np.diff(truth.indptr)).astype(np.int64)
        # score matrices (users x items float32) stay near 80 MB, as blends hold several
        max_users = min(max_users, max(500, int(MAX_SCORE_CELLS // max(inter.n_items, 1))))
        if len(users) > max_users:
            rng = np.random.default_rng(seed)
            users = np.sort(rng.choice(users, size=max_users, replace=False))
        return cls(fit_part, valid, metric, kind, users, truth[users], fit_part.csr[users].tocsr())

    @property
    def higher_is_better(self) -> bool:
        """False for rmse."""
        return self.metric != "rmse"

    def better(self, a: float, b: float) -> bool:
        """True when value ``a`` beats ``b`` (NaN never wins)."""
        if not np.isfinite(a):
            return False
        if not np.isfinite(b):
            return True
        return a > b if self.higher_is_better else a < b

    def scores(self, model: Recommender) -> np.ndarray:
        """The model's score rows for the validation users (float32)."""
        return np.asarray(model.score(self.users), dtype=np.float32)

    def value_of_scores(self, scores: np.ndarray) -> float:
        """The ranking metric of score rows (seen items masked in place first)."""
        name, k = parse_metric(self.metric)
        r, c = self.seen.nonzero()
        scores[r, c] = -np.inf
        recs, vals = topk(scores, k)
        recs = np.where(np.isfinite(vals), recs, -1)
        return user_mean(per_user_metrics(recs, self.truth, k=k)[name])

    def value(self, model: Recommender) -> float:
        """The metric of a model fitted on :attr:`fit_part`."""
        if self.metric == "rmse":
            predicted = np.asarray(model.predict(self.valid.users, self.valid.items))
            ok = np.isfinite(predicted)
            return float(rmse(predicted[ok], self.valid.values[ok])) if ok.any() else np.nan
        return self.value_of_scores(self.scores(model))
