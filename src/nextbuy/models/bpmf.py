"""Bayesian biased matrix factorisation for ratings by Gibbs sampling: the model (fit, export,
predict, fold-in); the sampler and its draws live in the ``bpmf_*`` modules."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError
from nextbuy.models.bpmf_average import average_low_rank
from nextbuy.models.bpmf_config import BPMFConfig
from nextbuy.models.bpmf_sampler import Posterior, gibbs
from nextbuy.models.bpmf_time import TimeTables
from nextbuy.models.factor import RatingFactorModel
from nextbuy.models.foldin import ridge_fold_in

__all__ = ["BPMF", "BPMFConfig", "average_low_rank"]

#: timeSVD++ arrays (empty without time terms; absent from models saved before them).
_TIME_STATE = ("time_span", "item_bin_bias", "user_drift", "user_mean_day", "day_keys",
               "day_bias", "user_time_offset", "user_day_mean", "user_span")  # fmt: skip


class BPMF(RatingFactorModel):
    """``r_ui = mu + b_u + b_i + p_u . q_i`` with the posterior averaged over Gibbs samples.

    Bayesian probabilistic matrix factorisation (Salakhutdinov and Mnih 2008) with biases and
    per-dimension Normal-Gamma hyper-priors as in libFM's MCMC (Rendle 2012), plus
    heteroscedastic noise: each user and item has a precision scale with a Gamma prior of
    strength ``user_noise`` / ``item_noise`` (0 = one shared noise level), so erratic raters
    and divisive items count less. No learning rate, no L2 to tune: the priors are learned.
    SVD++'s implicit feedback sits in the priors (:mod:`~nextbuy.models.bpmf_implicit`):
    which items a user rated shifts the user's prior mean (``implicit``), which users rated
    an item the item's (``item_implicit``). Ranking shrinks rarely rated items
    (``rank_support``). With ``time_bins > 0`` and timestamped ratings, timeSVD++'s baseline
    drifts are sampled too (:mod:`~nextbuy.models.bpmf_time`): ``predict(..., timestamps=)``
    uses them, and the exported biases (ranking, serving, ``predict`` without timestamps)
    hold the latest time bin and each user's mean drift + day term over their training ratings.

    Predictions average ``p_u . q_i`` over the kept samples. That average is exported as
    ``rank`` factors per user and item by a randomized SVD (rank 64 changes the RMSE by less
    than 1e-4 on MovieLens), so serving is one dot product, as for MF, and needs only numpy.
    Unknown users or items get the baseline ``mu + b_u + b_i`` of what is known. With
    ``recalculate_user=True`` users are folded in by ridge regression against the
    posterior-mean item factors, with the learned prior as the penalty.
    """

    name = "bpmf"
    config_class = BPMFConfig
    config: BPMFConfig
    state_attributes: ClassVar[tuple[str, ...]] = (
        *RatingFactorModel.state_attributes,
        "item_mean_factors",
        "fold_in_reg",
        "implicit_factors",
        "user_prior_mean",
        *_TIME_STATE,
    )

    #: Posterior-mean item factors ``[n_items, factors]`` (fold-in of new users).
    item_mean_factors_: np.ndarray
    #: Ridge penalty per user dimension (bias first) for fold-in: prior precision / noise.
    fold_in_reg_: np.ndarray
    #: Posterior mean of SVD++'s implicit item factors ``Y [n_items, 1 + factors]`` (zeros
    #: without the implicit term) and of the users' prior mean ``m``: fold-in's prior.
    implicit_factors_: np.ndarray
    user_prior_mean_: np.ndarray

    # ------------------------------------------------------------------ training
    def _check(self, train: Interactions) -> None:
        if len(train) == 0:
            raise DataError("bpmf: no training ratings")

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Run the Gibbs sampler; ``valid`` only feeds :attr:`callback` (running-average RMSE).

        BLAS runs on ``num_threads`` threads: the sampler's products are small, and threads
        spinning on a busy machine made the one eigendecomposition ten times slower.
        """
        from threadpoolctl import threadpool_limits

        threads = self.config.num_threads or None
        with threadpool_limits(limits=threads, user_api="blas"):
            self._sample(train, valid, show_progress)

    def _sample(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """The Gibbs sampler (:func:`~nextbuy.models.bpmf_sampler.gibbs`), then the export."""
        self._check(train)
        started = time.perf_counter()
        post = gibbs(train, valid, self.config, self._epoch_end, show_progress)
        self._export(post)
        post.history["fit_seconds"] = [time.perf_counter() - started]
        post.history["kept_samples"] = [float(len(post.kept_u))]
        self.history_ = post.history
        self.rating_min_, self.rating_max_ = train.rating_range

    def _export(self, post: Posterior) -> None:
        """Average the kept samples into serving arrays (see the class docstring)."""
        users, items = np.stack(post.kept_u), np.stack(post.kept_i)  # [samples, rows, 1 + factors]
        self.global_mean_ = post.mu
        self.user_bias_ = users[:, :, 0].mean(axis=0).astype(np.float32)
        self.item_bias_ = items[:, :, 0].mean(axis=0).astype(np.float32)
        rng = np.random.default_rng(self.config.seed)
        u, v = average_low_rank(
            users[:, :, 1:].astype(np.float64),
            items[:, :, 1:].astype(np.float64),
            self.config.rank,
            rng,
        )
        self.user_factors_ = np.ascontiguousarray(u, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(v, dtype=np.float32)
        self.item_mean_factors_ = items[:, :, 1:].mean(axis=0).astype(np.float32)
        self.fold_in_reg_ = (post.prior_precision / max(post.tau, 1e-12)).astype(np.float32)
        self.implicit_factors_ = post.implicit_factors.astype(np.float32)
        self.user_prior_mean_ = post.user_prior_mean.astype(np.float32)
        self._export_time(post.time)

    def _export_time(self, tables: TimeTables | None) -> None:
        """Store the time tables and fold their latest-time values into the biases."""
        n_items = len(self.item_bias_)
        if tables is None:
            self.time_span_ = np.zeros(2)
            self.item_bin_bias_ = np.zeros((n_items, 0), dtype=np.float32)
            self.user_drift_ = self.user_mean_day_ = self.user_time_offset_ = np.zeros(0)
            self.user_day_mean_, self.user_span_ = np.zeros(0), np.zeros((0, 2))
            self.day_keys_, self.day_bias_ = np.zeros(0, np.int64), np.zeros(0, np.float32)
            return
        self.time_span_ = np.array([tables.start_day, tables.end_day])
        self.item_bin_bias_ = tables.item_bin.astype(np.float32)
        self.user_drift_ = tables.drift.astype(np.float32)
        self.user_mean_day_ = tables.mean_day.astype(np.float64)
        self.day_keys_, self.day_bias_ = tables.day_keys, tables.day_bias.astype(np.float32)
        self.user_time_offset_ = tables.user_offset.astype(np.float32)
        self.user_day_mean_ = tables.user_day_mean.astype(np.float32)
        self.user_span_ = tables.user_span
        self.user_bias_ = (self.user_bias_ + tables.user_offset).astype(np.float32)
        self.item_bias_ = (self.item_bias_ + tables.item_bin[:, -1]).astype(np.float32)

    def _time_tables(self) -> TimeTables | None:
        """The stored time terms, or None when the model has none."""
        if np.asarray(self.item_bin_bias_).shape[1] == 0:
            return None
        start, end = (float(x) for x in self.time_span_)
        arrays = [np.asarray(getattr(self, f"{name}_")) for name in _TIME_STATE[1:]]
        return TimeTables(start, end, *arrays)

    @property
    def uses_timestamps(self) -> bool:
        """True when fitted with time terms: evaluation then passes each rating's timestamp."""
        bins = getattr(self, "item_bin_bias_", None)
        return bins is not None and np.asarray(bins).shape[1] > 0

    def predict(
        self, users: np.ndarray, items: np.ndarray, timestamps: np.ndarray | None = None
    ) -> np.ndarray:
        """Ratings per pair; ``timestamps`` (int seconds, one per pair) apply the time terms.

        Without timestamps (or without time terms) this is the latest-time prediction.
        """
        tables = self._time_tables()
        if timestamps is None or tables is None:
            return super().predict(users, items)
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        stamps = np.asarray(timestamps).ravel()
        if len(stamps) != len(users) or not np.issubdtype(stamps.dtype, np.number):
            raise DataError(
                f"bpmf: timestamps must be numbers, one per pair ({len(stamps)} for {len(users)})"
            )
        side = self._user_side(users)
        assert side.bias is not None
        ki = (items >= 0) & (items < self.n_items_)
        si = np.where(ki, items, 0)
        ku = (users >= 0) & (users < self.n_users_)
        su = np.where(ku, users, 0)
        base = side.bias + np.where(ki, np.asarray(self.item_bias_)[si], 0.0)
        base += np.einsum(
            "nf,nf->n", side.vectors, np.asarray(self.item_factors_)[si] * ki[:, None]
        )
        # the biases hold the latest bin and the user's mean time offset: swap them for the
        # terms at each timestamp
        beta = self.config.drift_beta
        latest = np.where(ki, tables.item_bin[si, -1], 0.0)
        latest += np.where(ku, tables.user_offset[su], 0.0)
        pred = base - latest + tables.offsets(users, items, stamps.astype(np.float64), beta)
        return np.clip(pred, self.rating_min_, self.rating_max_).astype(np.float32)

    def set_state(self, state: dict[str, Any]) -> None:
        """Models saved before the time terms have none (empty arrays)."""
        missing = [name for name in _TIME_STATE if name not in state]
        super().set_state({**state, **{name: np.zeros(0) for name in missing}})
        if missing:
            self.item_bin_bias_ = np.zeros((len(self.item_bias_), 0), dtype=np.float32)

    # ------------------------------------------------------------------ scoring
    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """``[b_u, p_u]`` per rating row by ridge regression, item side fixed at its mean.

        Rows may be new users; empty rows give zeros (the unknown-user baseline).
        """
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float32)
        design = self._derived(
            "design",
            (self.item_mean_factors_,),
            lambda: self._ridge_design(np.asarray(self.item_mean_factors_)),
        )
        # the prior mean m + x_u Y (SVD++'s implicit term from the row's rated items)
        counts = np.diff(rows.indptr)
        norm = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
        pattern = sp.csr_matrix((norm, rows.indices, rows.indptr), shape=rows.shape)
        prior = np.asarray(self.user_prior_mean_, dtype=np.float64) + np.asarray(
            pattern @ np.asarray(self.implicit_factors_, dtype=np.float64)
        )
        owner = np.repeat(np.arange(rows.shape[0]), counts)
        targets = rows.data - self.global_mean_ - np.asarray(self.item_bias_)[rows.indices]
        targets = targets - np.einsum("ed,ed->e", design[rows.indices], prior[owner])
        per_dim = np.asarray(self.fold_in_reg_, dtype=np.float64)
        reg = np.broadcast_to(per_dim, (rows.shape[0], len(per_dim)))
        delta = ridge_fold_in(rows, design, np.ones(rows.nnz), targets, reg)
        return (delta + prior * (counts > 0)[:, None]).astype(np.float32)

    def _item_side(self, from_history: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Folded-in users live in the space of the posterior-mean item factors."""
        items = self.item_mean_factors_ if from_history else self.item_factors_
        weight = self._support_weight()
        if weight is None:
            return np.asarray(items), np.asarray(self.item_bias_)
        return self._shrunk(items, weight), self._shrunk(self.item_bias_, weight)

    def item_vectors(self) -> np.ndarray:
        return np.asarray(self.item_mean_factors_)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension and the strength of the heteroscedastic noise priors."""
        return {
            "factors": trial.suggest_int("factors", 4, 24),
            "user_noise": trial.suggest_float("user_noise", 2.0, 200.0, log=True),
            "item_noise": trial.suggest_float("item_noise", 2.0, 200.0, log=True),
        }
