"""Rating baselines: the global mean and damped user + item biases (the bars to beat).

Every rating model should predict better than these; evaluation tables show them next to it
(:mod:`nextbuy.evaluation.baselines`). Both are :class:`RatingFactorModel` with no factors,
so they predict, rank, fold users in, save and serve like MF.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError
from nextbuy.models.factor import RatingFactorModel
from nextbuy.models.params import Hyperparameters, param


def damped_biases(
    users: np.ndarray,
    items: np.ndarray,
    residuals: np.ndarray,
    shape: tuple[int, int],
    user_damping: float,
    item_damping: float,
    sweeps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(b_u, b_i)`` minimising ``sum (r - b_u - b_i)^2 + du sum b_u^2 + di sum b_i^2``.

    ``residuals`` are ratings minus the global mean. Alternating exact solves (ALS sweeps):
    ``b_i = sum_u (r - b_u) / (n_i + di)``, then ``b_u = sum_i (r - b_i) / (n_u + du)``; each
    sweep is two ``bincount`` calls, so a few sweeps cost milliseconds on millions of ratings.
    """
    n_users, n_items = shape
    n_u = np.bincount(users, minlength=n_users).astype(np.float64)
    n_i = np.bincount(items, minlength=n_items).astype(np.float64)
    b_u = np.zeros(n_users)
    b_i = np.zeros(n_items)
    for _ in range(sweeps):
        b_i = np.bincount(items, residuals - b_u[users], n_items) / (n_i + item_damping)
        b_u = np.bincount(users, residuals - b_i[items], n_users) / (n_u + user_damping)
    return b_u, b_i


class GlobalMeanConfig(Hyperparameters):
    """:class:`GlobalMean` has no hyper-parameters."""


class BiasConfig(Hyperparameters):
    """Hyper-parameters of :class:`Bias`."""

    user_damping: float = param(
        5.0, "pseudo-ratings at the global mean added to every user (shrinks b_u)", ge=0
    )
    item_damping: float = param(
        5.0, "pseudo-ratings at the global mean added to every item (shrinks b_i)", ge=0
    )
    sweeps: int = param(5, "alternating least-squares sweeps over items then users", ge=1)


class _NoFactors(RatingFactorModel):
    """Shared by the baselines: zero-width factors, user biases folded in by damped means."""

    def _user_damping(self) -> float | None:
        """Damping of the user bias when folding a user in; None = no user bias at all."""
        return None

    def _store(self, train: Interactions, b_u: np.ndarray, b_i: np.ndarray, mu: float) -> None:
        n_users, n_items = train.shape
        self.global_mean_ = mu
        self.user_bias_ = b_u.astype(np.float32)
        self.item_bias_ = b_i.astype(np.float32)
        self.user_factors_ = np.zeros((n_users, 0), dtype=np.float32)
        self.item_factors_ = np.zeros((n_items, 0), dtype=np.float32)
        self.rating_min_, self.rating_max_ = train.rating_range
        self.history_ = {}

    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """``[b_u]`` per rating row: the damped mean of ``r - mu - b_i``; empty rows give 0."""
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float64)
        damping = self._user_damping()
        if damping is None:
            return np.zeros((rows.shape[0], 1), dtype=np.float32)
        resid = rows.data - self.global_mean_ - np.asarray(self.item_bias_)[rows.indices]
        owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        sums = np.bincount(owner, resid, rows.shape[0])
        counts = np.diff(rows.indptr).astype(np.float64)
        return (sums / (counts + damping + 1e-12))[:, None].astype(np.float32)

    def item_vectors(self) -> np.ndarray:
        """Items as ``[b_i]``: the baselines know no similarity beyond their bias."""
        return np.asarray(self.item_bias_, dtype=np.float32)[:, None]


class GlobalMean(_NoFactors):
    """Predicts the training ratings' mean for every pair: the weakest honest bar."""

    name = "globalmean"
    config_class = GlobalMeanConfig
    config: GlobalMeanConfig

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """The mean rating; ``valid`` is ignored."""
        if len(train) == 0:
            raise DataError("globalmean: no training ratings")
        mu = float(np.mean(train.values, dtype=np.float64))
        self._store(train, np.zeros(train.n_users), np.zeros(train.n_items), mu)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Nothing to tune; one fixed choice keeps the tuner's interface uniform."""
        return {}


class Bias(_NoFactors):
    """``r_ui = mu + b_u + b_i`` with damped (shrunk) biases, fitted by a few ALS sweeps.

    The baseline of Koren (2008) that every rating model must beat: rarely rated items and
    users stay near the global mean, because ``item_damping`` / ``user_damping`` pseudo-ratings
    at the mean are added to each.
    """

    name = "bias"
    config_class = BiasConfig
    config: BiasConfig

    def _user_damping(self) -> float | None:
        return float(self.config.user_damping)

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Alternating damped means (:func:`damped_biases`); ``valid`` is ignored."""
        if len(train) == 0:
            raise DataError("bias: no training ratings")
        p = self.config
        values = train.values.astype(np.float64)
        mu = float(values.mean())
        b_u, b_i = damped_biases(
            train.users.astype(np.int64),
            train.items.astype(np.int64),
            values - mu,
            train.shape,
            p.user_damping,
            p.item_damping,
            p.sweeps,
        )
        self._store(train, b_u, b_i, mu)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the two dampings."""
        return {
            "user_damping": trial.suggest_float("user_damping", 0.5, 100.0, log=True),
            "item_damping": trial.suggest_float("item_damping", 0.5, 100.0, log=True),
        }
