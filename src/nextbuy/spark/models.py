"""ALS trained by Spark MLlib, served by numpy with Spark's own objective (no pyspark to serve).

Spark's ALS differs from ``implicit``'s in two ways that matter when a server folds a user in
against the fixed item factors: implicit confidence is ``1 + alpha * |r|`` with preference
``p = [r > 0]``, and the L2 penalty of a row is ``regParam`` times the row's number of
positive (implicit) or all (explicit) ratings (ALS-WR, Zhou et al. 2008). These classes keep
those rules, so a folded-in user gets exactly the vector Spark's next sweep would give it.
Training runs in Spark (``nextbuy.spark``); ``fit`` here is the in-process shortcut that
hands an :class:`Interactions` to a local SparkSession.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.als import ALS
from nextbuy.models.common import popularity_share
from nextbuy.models.factor import UserSide
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.params import Hyperparameters, param

#: Pseudo-count of the explicit model's damped item means (new users' predicted ratings).
_MEAN_DAMPING = 5.0


class _SparkJob(Hyperparameters):
    """Spark-side settings shared by both model types (they shape the job, not the objective)."""

    num_user_blocks: int = param(10, "Spark's numUserBlocks: partitions of the user factors", ge=1)
    num_item_blocks: int = param(10, "Spark's numItemBlocks: partitions of the item factors", ge=1)
    checkpoint_interval: int = param(
        10, "checkpointInterval (needs a checkpoint dir; -1 = never)", ge=-1
    )
    intermediate_storage_level: str = param("MEMORY_AND_DISK", "intermediateStorageLevel")
    final_storage_level: str = param("MEMORY_AND_DISK", "finalStorageLevel of the factor RDDs")


class SparkALSConfig(_SparkJob):
    """Hyper-parameters of :class:`SparkALS` (Spark's names in the descriptions)."""

    factors: int = param(64, "Spark's rank", ge=1)
    regularization: float = param(0.3, "regParam, scaled by each row's rating count (ALS-WR)", ge=0)
    alpha: float = param(3.0, "Spark's alpha: confidence 1 + alpha * |r|", ge=0)
    weighting: Literal["linear", "log"] = param(
        "linear", "r = value (linear) or log1p(value) (log), before Spark"
    )
    iterations: int = param(15, "maxIter", ge=1)
    random_state: int = param(42, "Spark's seed")


class SparkExplicitALSConfig(_SparkJob):
    """Hyper-parameters of :class:`SparkExplicitALS`."""

    factors: int = param(8, "Spark's rank", ge=1)
    regularization: float = param(
        0.15, "regParam, scaled by each row's rating count (ALS-WR)", ge=0
    )
    iterations: int = param(15, "maxIter", ge=1)
    random_state: int = param(42, "Spark's seed")


def spark_values(values: np.ndarray, weighting: str) -> np.ndarray:
    """The ratings Spark is trained on: raw values, or ``sign(v) * log1p(|v|)`` for "log"."""
    if weighting not in ("linear", "log"):
        raise ConfigError(f"spark_als weighting must be 'linear' or 'log', not {weighting!r}")
    v = np.asarray(values, dtype=np.float64)
    return np.sign(v) * np.log1p(np.abs(v)) if weighting == "log" else v


class SparkALS(ALS):
    """Implicit-feedback ALS of ``pyspark.ml.recommendation.ALS`` (``implicitPrefs=True``).

    Objective per user ``u`` (items fixed), as Spark solves it::

        min_x  sum_i c_ui (p_ui - x.y_i)^2 + regularization * n_u * |x|^2

    over ALL items, with ``c_ui = 1 + alpha * |r_ui|``, ``p_ui = [r_ui > 0]`` and ``n_u`` the
    user's positive ratings; ``r`` is the value, or ``log1p(value)`` when ``weighting="log"``.
    Scores are ``U[u] @ V.T``; users without history get item popularity.
    """

    name = "spark_als"
    config_class = SparkALSConfig  # type: ignore[assignment]
    config: SparkALSConfig  # type: ignore[assignment]

    # ------------------------------------------------------------------ training
    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Train with Spark MLlib on the active (or a new local) SparkSession; needs pyspark."""
        from nextbuy.spark.train import fit_interactions

        users, items = fit_interactions(train, self.params, explicit=self.predicts_ratings)
        self.set_factors(users, items, train)

    def set_factors(self, users: np.ndarray, items: np.ndarray, train: Interactions) -> None:
        """Adopt factors learned elsewhere (Spark) for ``train``'s index space."""
        self.user_factors_ = np.ascontiguousarray(users, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(items, dtype=np.float32)
        self.popularity_ = popularity_share(train.csr)
        self.history_ = {}
        self._remember(train)
        self._fit_baseline(train)

    def _fit_baseline(self, train: Interactions) -> None:
        """Extra non-personal state (none for implicit feedback)."""

    # ------------------------------------------------------------------ the fold-in system
    def fold_in_terms(
        self, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Spark's normal equations for history rows: (rows, w, y, reg per row, base Gram).

        ``x_u = (G0 + reg_u I + sum_i w_ui v_i v_i^T)^-1 sum_i y_ui v_i`` (see ridge_fold_in).
        """
        rows = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
        r = spark_values(rows.data, self.params["weighting"])
        c1 = float(self.params["alpha"]) * np.abs(r)
        positive = r > 0
        targets = np.where(positive, 1.0 + c1, 0.0)
        owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        counts = np.bincount(owner, weights=positive, minlength=rows.shape[0])
        reg = float(self.params["regularization"]) * counts
        return rows, c1, targets, reg, self._item_gram()

    def recalculate_user(self, user_items: sp.csr_matrix) -> np.ndarray:
        """User factors for history rows (raw values), item factors fixed: ``[n_rows, factors]``.

        The exact least squares of Spark's objective (class docstring), batched.
        """
        self._check_fitted()
        rows, w, y, reg, gram = self.fold_in_terms(user_items)
        vectors = np.asarray(self.item_factors_, dtype=np.float64)
        # rows whose system is singular (no positive rating, no Gram) stay at zero
        reg = np.where(reg > 0, reg, 1e-9)
        return ridge_fold_in(rows, vectors, gram_weights=w, targets=y, reg=reg, base_gram=gram)

    def contributions(self, history: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]``: each past item's share of each item's score.

        The folded-in score is ``v_i^T A^-1 sum_j y_j v_j``, so past item ``j`` adds
        ``y_j v_i^T A^-1 v_j``; the shares sum to the score (used by explanations).
        """
        rows, w, y, reg, gram = self.fold_in_terms(sp.csr_matrix(history)[:1])
        v = np.asarray(self.item_factors_, dtype=np.float64)
        vh = v[rows.indices]
        a = (np.zeros((v.shape[1], v.shape[1])) if gram is None else gram.copy()) + (vh.T * w) @ vh
        a[np.diag_indices_from(a)] += max(float(reg[0]), 1e-9)
        solved = np.linalg.solve(a, vh.T)  # (f, n_hist)
        return ((v[np.asarray(items, dtype=np.int64)] @ solved) * y[None, :]).astype(np.float32)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, (count-scaled) L2, confidence slope and scheme, sweeps."""
        return {
            "factors": trial.suggest_categorical("factors", [16, 32, 64, 128]),
            "regularization": trial.suggest_float("regularization", 1e-3, 1.0, log=True),
            "alpha": trial.suggest_float("alpha", 0.1, 100.0, log=True),
            "weighting": trial.suggest_categorical("weighting", ["linear", "log"]),
            "iterations": trial.suggest_int("iterations", 5, 30),
        }


class SparkExplicitALS(SparkALS):
    """Rating-prediction ALS of ``pyspark.ml.recommendation.ALS`` (``implicitPrefs=False``).

    Objective per user, items fixed: ``sum_i (r_ui - x.y_i)^2 + regularization * n_u |x|^2``
    over the user's ratings (no biases, as in Spark). ``predict`` clips ``x.y`` to the training
    range; users without factors get each item's damped mean rating.
    """

    name = "spark_als_explicit"
    predicts_ratings = True
    state_attributes: ClassVar[tuple[str, ...]] = (
        "user_factors",
        "item_factors",
        "popularity",
        "item_mean",
        "rating_range",
    )
    config_class = SparkExplicitALSConfig  # type: ignore[assignment]
    config: SparkExplicitALSConfig  # type: ignore[assignment]

    item_mean_: np.ndarray
    rating_range_: np.ndarray

    def _fit_baseline(self, train: Interactions) -> None:
        """Damped item means ``(sum + d * mu) / (n + d)`` and the rating range."""
        csr = train.csr
        mu = float(csr.data.mean()) if csr.nnz else 0.0
        sums = np.bincount(csr.indices, weights=csr.data, minlength=csr.shape[1])
        counts = np.bincount(csr.indices, minlength=csr.shape[1])
        self.item_mean_ = ((sums + _MEAN_DAMPING * mu) / (counts + _MEAN_DAMPING)).astype(
            np.float32
        )
        lo, hi = train.rating_range
        self.rating_range_ = np.array([lo, hi], dtype=np.float64)

    def fold_in_terms(
        self, user_items: sp.csr_matrix
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Plain ridge on the ratings: ``w = 1``, ``y = r``, ``reg = regularization * n_u``."""
        rows = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
        counts = np.diff(rows.indptr).astype(np.float64)
        reg = float(self.params["regularization"]) * counts
        return rows, np.ones(rows.nnz), rows.data.copy(), reg, None

    def fallback_scores(self) -> np.ndarray:
        """Users without vectors get each item's damped mean rating."""
        return np.asarray(self.item_mean_, dtype=np.float32)

    def _scores(self, side: UserSide, items: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """Predicted ratings ``U[u] @ V.T`` (unclipped); damped item means without factors."""
        scores = (side.vectors @ items.T).astype(np.float32, copy=False)
        if side.fallback.any():
            scores[side.fallback] = np.asarray(self.item_mean_)
        return scores

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Ratings per pair clipped to the training range; the mean rating for unknown items."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        ku = (users >= 0) & (users < self.n_users_)
        ki = (items >= 0) & (items < self.n_items_)
        side = self._user_side(np.where(ku, users, -1))
        missing = side.fallback
        si = np.where(ki, items, 0)
        dot = np.einsum("nf,nf->n", side.vectors, np.asarray(self.item_factors_)[si])
        means = np.asarray(self.item_mean_)
        pred = np.where(missing | ~ku, means[si], dot)
        pred = np.where(ki, pred, float(np.mean(means)) if len(means) else 0.0)
        lo, hi = (float(x) for x in self.rating_range_)
        return np.clip(pred, lo, hi).astype(np.float32)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, (count-scaled) L2, sweeps."""
        return {
            "factors": trial.suggest_categorical("factors", [8, 16, 32, 64]),
            "regularization": trial.suggest_float("regularization", 0.01, 1.0, log=True),
            "iterations": trial.suggest_int("iterations", 5, 30),
        }
