"""Implicit-feedback ALS (Hu, Koren, Volinsky 2008) trained by ``implicit``, served by numpy."""

from __future__ import annotations

import importlib
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.snapshot import ranking_snapshot
from nextbuy.models.common import (
    implicit_factors,
    implicit_model,
    one_row,
    popularity_share,
    to_numpy,
)
from nextbuy.models.factor import FactorModel, dot_scores
from nextbuy.models.foldin import ridge_fold_in, ridge_system
from nextbuy.models.params import AtLeastOne, Auto, Hyperparameters, NonNegative, param
from nextbuy.models.weighting import decayed, recency, weigh_rows
from nextbuy.progress import progress_bar


class ALSConfig(Hyperparameters):
    """Hyper-parameters of :class:`ALS`."""

    factors: AtLeastOne | Auto = param(
        "auto", "latent dimensions; auto = 64, at most an eighth of the smaller side"
    )
    regularization: NonNegative | Auto = param(
        "auto", "L2 (implicit's lambda); auto = 30 x sqrt(mean confidence / 3) x size"
    )
    alpha: float = param(2.0, "confidence slope: c = 1 + alpha * f(value)", ge=0)
    weighting: Literal["linear", "log", "auto"] = param(
        "auto", "f in the confidence: linear (value) or log (log1p); auto = log for counts"
    )
    iterations: int = param(15, "ALS sweeps (users then items)", ge=1)
    random_state: int | None = param(42, "seed of the initial factors")
    num_threads: int = param(0, "implicit's threads; 0 = all cores", ge=0)
    calculate_training_loss: bool = param(
        False, "compute the loss each sweep (slower) into the history"
    )
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto", "auto (GPU when implicit has CUDA) | cpu | cuda"
    )
    half_life_days: float = param(
        0.0, "time decay of interaction weights: half-life in days; 0 = off", ge=0
    )
    popularity_prior: NonNegative | Auto = param(
        "auto",
        "adds this x mean train-pair score x popularity (top = 1); auto = 0.06 x (sparsity - 4)",
    )


def load_implicit_als() -> None:
    """Import implicit's CPU ALS (and so scipy's OpenBLAS, which its solver calls).

    ``threadpool_limits`` reaches only the libraries loaded when it is entered: entered before
    this import, it left that OpenBLAS at one thread per core inside implicit's own threads
    (implicit's "OpenBLAS is configured to use N threads" warning, and a slower fit).
    """
    importlib.import_module("implicit.cpu.als")


class ALS(FactorModel):
    """Weighted matrix factorisation for implicit feedback.

    Confidence is ``c_ui = 1 + alpha * f(value)`` (f = identity or log1p), computed here by
    :func:`~nextbuy.models.weighting.weigh_rows` and handed to ``implicit`` with *its* ``alpha``
    fixed to 1, so alpha is applied exactly once. Scores are ``U[u] @ V.T`` plus, on sparse
    data, an item bias ``popularity_prior`` x fit scale x item popularity. History rows are
    folded in by implicit's ``recalculate_user`` least squares against the fixed item factors
    (``V^T V`` cached); users with no history get item popularity. Scores (less the prior)
    decompose over the history, so :meth:`contributions` explains them.
    """

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    # ------------------------------------------------------------------ training
    def _confidence(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        """``1 + alpha * f(value)`` on the stored entries of a users x items matrix."""
        return weigh_rows(matrix, self.config.weighting, self.config.alpha)

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Factorise the confidence matrix with implicit's conjugate-gradient ALS.

        ``valid`` only feeds :attr:`callback` (validation ranking metrics after each sweep).
        """
        cfg = self.config
        confidence = decayed(self._confidence(train.csr), recency(train, cfg.half_life_days))
        common = {
            "factors": cfg.factors,
            "regularization": cfg.regularization,
            "alpha": 1.0,  # confidence already holds 1 + alpha * f(value)
            "iterations": cfg.iterations,
            "calculate_training_loss": cfg.calculate_training_loss,
            "random_state": cfg.random_state,
        }
        losses: list[float] = []
        # implicit runs its own threads; BLAS threads on top would oversubscribe the cores (and
        # implicit warns about it when the model is built), so BLAS is limited for both steps,
        # after the import that loads the BLAS implicit's solver calls (see load_implicit_als)
        load_implicit_als()
        with (
            threadpool_limits(1, "blas"),
            progress_bar(cfg.iterations, "ALS", enabled=show_progress) as advance,
        ):
            model = implicit_model("als", cfg.device, cfg.num_threads, **common)

            def callback(iteration: int, elapsed: float, loss: float | None) -> None:
                metrics: dict[str, float] = {}
                if loss is None:
                    advance()
                else:
                    losses.append(float(loss))
                    metrics["train_loss"] = float(loss)
                    advance(loss=float(loss))
                if self.callback is not None:
                    if valid is not None:
                        scores = dot_scores(
                            to_numpy(model.user_factors), to_numpy(model.item_factors)
                        )
                        metrics.update(ranking_snapshot(scores, train.csr, valid))
                    self._epoch_end(iteration, metrics)

            model.fit(confidence, show_progress=False, callback=callback)
        self.user_factors_, self.item_factors_ = implicit_factors(model)
        self.popularity_ = popularity_share(train.csr)
        self.history_ = {"train_loss": losses} if losses else {}

    # ------------------------------------------------------------------ fold-in
    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """User factors for history rows (raw values), item factors fixed: ``[n_rows, factors]``.

        Exact least squares of the implicit objective, as implicit's own fold-in:
        ``x_u = (V^T V + V^T (C_u - I) V + reg I)^-1 V^T C_u p_u``. Rows may be new users.
        """
        self._check_fitted()
        conf = self._confidence(user_items)
        return ridge_fold_in(
            conf,
            np.asarray(self.item_factors_),
            gram_weights=conf.data - 1.0,
            targets=conf.data,
            reg=float(self.config.regularization),
            base_gram=self._item_gram(),
        )

    def contributions(self, history: sp.spmatrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]``: each past item's share of each item's score.

        The folded-in user is ``x = A^-1 V_h^T c`` with ``A`` the system of
        :meth:`recalculate_user`, so item ``i``'s score splits as
        ``c_j v_i^T A^-1 v_j`` over the history items ``j`` (columns follow ``history.indices``).
        """
        row = one_row(history, self.n_items_)
        items = np.asarray(items, dtype=np.int64).ravel()
        if row.nnz == 0 or len(items) == 0:
            return np.zeros((len(items), row.nnz), dtype=np.float32)
        conf = self._confidence(row).data.astype(np.float64)
        factors = np.asarray(self.item_factors_)
        gram, past = ridge_system(
            row.indices, factors, conf - 1.0, float(self.config.regularization), self._item_gram()
        )
        weights = np.linalg.solve(gram, past.T)  # (f, n_history)
        ours = np.asarray(factors[items], dtype=np.float64)
        return ((ours @ weights) * conf[None, :]).astype(np.float32)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, L2, confidence slope and scheme, sweeps."""
        return {
            "factors": trial.suggest_categorical("factors", [16, 32, 64, 128]),
            "regularization": trial.suggest_float("regularization", 0.01, 100.0, log=True),
            "alpha": trial.suggest_float("alpha", 0.1, 50.0, log=True),
            "weighting": trial.suggest_categorical("weighting", ["linear", "log"]),
            "iterations": trial.suggest_int("iterations", 5, 30),
        }
