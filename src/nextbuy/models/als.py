"""Implicit-feedback ALS (Hu, Koren, Volinsky 2008) trained by ``implicit``, served by numpy."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.snapshot import ranking_snapshot
from nextbuy.models.common import one_row, popularity_share, to_numpy, use_cuda
from nextbuy.models.factor import FactorModel, dot_scores
from nextbuy.models.foldin import ridge_fold_in, ridge_system
from nextbuy.models.params import Hyperparameters
from nextbuy.models.weighting import weigh_rows
from nextbuy.progress import progress_bar


class ALSConfig(Hyperparameters):
    """Hyper-parameters of :class:`ALS`."""

    factors: int = Field(default=64, ge=1, description="latent dimensions")
    regularization: float = Field(
        default=30.0, ge=0, description="L2 on the factors (implicit's lambda, unscaled)"
    )
    alpha: float = Field(
        default=2.0, ge=0, description="confidence slope: c = 1 + alpha * f(value)"
    )
    weighting: Literal["linear", "log"] = Field(
        default="linear", description="f in the confidence: linear (value) or log (log1p(value))"
    )
    iterations: int = Field(default=15, ge=1, description="ALS sweeps (users then items)")
    random_state: int | None = Field(default=42, description="seed of the initial factors")
    num_threads: int = Field(default=0, ge=0, description="implicit's threads; 0 = all cores")
    calculate_training_loss: bool = Field(
        default=False, description="compute the loss each sweep (slower) into the history"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="auto (GPU when implicit has CUDA) | cpu | cuda"
    )


class ALS(FactorModel):
    """Weighted matrix factorisation for implicit feedback.

    Confidence is ``c_ui = 1 + alpha * f(value)`` (f = identity or log1p), computed here by
    :func:`~nextbuy.models.weighting.weigh_rows` and handed to ``implicit`` with *its* ``alpha``
    fixed to 1, so alpha is applied exactly once. Scores are ``U[u] @ V.T``. History rows are
    folded in by implicit's ``recalculate_user`` least squares against the fixed item factors
    (``V^T V`` cached); users with no history get item popularity. Scores decompose over the
    history, so :meth:`contributions` explains them.
    """

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    # ------------------------------------------------------------------ training
    def _confidence(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        """``1 + alpha * f(value)`` on the stored entries of a users x items matrix."""
        return weigh_rows(matrix, self.config.weighting, self.config.alpha)

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> ALS:
        """Factorise the confidence matrix with implicit's conjugate-gradient ALS.

        ``valid`` only feeds :attr:`callback` (validation ranking metrics after each sweep).
        """
        cfg = self.config
        confidence = self._confidence(train.csr)
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
        # implicit warns about it when the model is built), so BLAS is limited for both steps.
        with (
            threadpool_limits(1, "blas"),
            progress_bar(cfg.iterations, "ALS", enabled=show_progress) as advance,
        ):
            if use_cuda(cfg.device):
                import implicit.gpu.als

                model = implicit.gpu.als.AlternatingLeastSquares(**common)
            else:
                import implicit.cpu.als

                model = implicit.cpu.als.AlternatingLeastSquares(
                    **common, num_threads=cfg.num_threads
                )

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
        if hasattr(model, "to_cpu"):
            model = model.to_cpu()
        self.user_factors_ = to_numpy(model.user_factors)
        self.item_factors_ = to_numpy(model.item_factors)
        self.popularity_ = popularity_share(train.csr)
        self.history_ = {"train_loss": losses} if losses else {}
        self._remember(train)
        return self

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
            reg=self.config.regularization,
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
            row.indices, factors, conf - 1.0, self.config.regularization, self._item_gram()
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
