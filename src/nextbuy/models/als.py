"""Implicit-feedback ALS (Hu, Koren, Volinsky 2008) trained by ``implicit``, served by numpy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.base import Recommender, ranking_snapshot
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.popularity import fill_rows, popularity_share
from nextbuy.models.registry import register
from nextbuy.models.weighting import weigh_rows
from nextbuy.progress import progress_bar


def use_cuda(device: str) -> bool:
    """Resolve ``device`` (auto|cpu|cuda) for ``implicit``; asking for cuda without it fails."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu":
        return False
    import implicit.gpu

    if device == "cuda" and not implicit.gpu.HAS_CUDA:
        raise ConfigError("device='cuda' but implicit was built without CUDA; use device=cpu")
    return bool(implicit.gpu.HAS_CUDA)


def to_numpy(factors: Any) -> np.ndarray:
    """Factors from an implicit model (numpy, or implicit.gpu.Matrix) as a float32 array."""
    if hasattr(factors, "to_numpy"):
        factors = factors.to_numpy()
    return np.ascontiguousarray(factors, dtype=np.float32)


@register
class ALS(Recommender):
    """Weighted matrix factorisation for implicit feedback.

    Confidence is ``c_ui = 1 + alpha * f(value)`` (f = identity or log1p), computed here by
    :meth:`Interactions.weighted_csr` and handed to ``implicit`` with *its* ``alpha`` fixed to 1,
    so alpha is applied exactly once. Scores are ``U[u] @ V.T``. New users (or any user whose
    history rows are passed to :meth:`score`) are folded in by least squares against the
    fixed item factors; users with no history get item popularity.
    """

    name = "als"
    state_attributes: ClassVar[tuple[str, ...]] = ("user_factors", "item_factors", "popularity")
    defaults: ClassVar[dict[str, Any]] = {
        "factors": 64,  # latent dimensions
        "regularization": 30.0,  # L2 on the factors (implicit's lambda, unscaled; tuned on ML-100K)
        "alpha": 2.0,  # confidence slope: c = 1 + alpha * f(value)
        "weighting": "linear",  # f in the confidence: "linear" (value) or "log" (log1p(value))
        "iterations": 15,  # ALS sweeps (users then items)
        "random_state": 42,  # seed of the initial factors
        "num_threads": 0,  # implicit's threads; 0 = all cores
        "calculate_training_loss": False,  # compute the loss each sweep (slower) into history_
        "device": "auto",  # "auto" (GPU when implicit has CUDA), "cpu" or "cuda"
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.user_factors_: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.item_factors_: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.popularity_: np.ndarray = np.zeros(0, dtype=np.float32)

    # ------------------------------------------------------------------ training
    def _confidence(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        """``1 + alpha * f(value)`` on the stored entries of a users x items matrix."""
        scheme = self.params["weighting"]
        if scheme not in ("linear", "log"):
            raise ConfigError(f"als weighting must be 'linear' or 'log', not {scheme!r}")
        return weigh_rows(matrix, scheme, float(self.params["alpha"]))

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> ALS:
        """Factorise the confidence matrix with implicit's conjugate-gradient ALS.

        ``valid`` only feeds :attr:`callback` (validation ranking metrics after each sweep).
        """
        p = self.params
        confidence = self._confidence(train.csr)
        common = {
            "factors": int(p["factors"]),
            "regularization": float(p["regularization"]),
            "alpha": 1.0,  # confidence already holds 1 + alpha * f(value)
            "iterations": int(p["iterations"]),
            "calculate_training_loss": bool(p["calculate_training_loss"]),
            "random_state": p["random_state"],
        }
        losses: list[float] = []
        # implicit runs its own threads; BLAS threads on top would oversubscribe the cores (and
        # implicit warns about it when the model is built), so BLAS is limited for both steps.
        with (
            threadpool_limits(1, "blas"),
            progress_bar(int(p["iterations"]), "ALS", enabled=show_progress) as advance,
        ):
            if use_cuda(p["device"]):
                import implicit.gpu.als

                model = implicit.gpu.als.AlternatingLeastSquares(**common)
            else:
                import implicit.cpu.als

                model = implicit.cpu.als.AlternatingLeastSquares(
                    **common, num_threads=int(p["num_threads"])
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
                        users, items = to_numpy(model.user_factors), to_numpy(model.item_factors)
                        metrics.update(
                            ranking_snapshot(lambda u: users[u] @ items.T, train.csr, valid)
                        )
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

    # ------------------------------------------------------------------ scoring
    def recalculate_user(self, user_items: sp.csr_matrix) -> np.ndarray:
        """User factors for history rows (raw values), item factors fixed: ``[n_rows, factors]``.

        Exact least squares of the implicit objective, as implicit's own fold-in:
        ``x_u = (V^T V + V^T (C_u - I) V + reg I)^-1 V^T C_u p_u``. Rows may be new users.
        """
        self._check_fitted()
        conf = self._confidence(user_items)
        vectors = np.asarray(self.item_factors_, dtype=np.float64)
        return ridge_fold_in(
            conf,
            vectors,
            gram_weights=conf.data - 1.0,
            targets=conf.data,
            reg=float(self.params["regularization"]),
            base_gram=vectors.T @ vectors,
        )

    def user_vectors(
        self, users: np.ndarray, user_items: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """User factors for ``users`` and a mask of those without any (scored by popularity).

        Given ``user_items`` rows, every user is folded in from them; otherwise known users
        with training interactions use their trained factors.
        """
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64).ravel()
        if user_items is not None:
            empty = np.diff(sp.csr_matrix(user_items).indptr) == 0
            return self.recalculate_user(user_items), empty
        known = (users >= 0) & (users < self.n_users_)
        safe = np.where(known, users, 0)
        assert self.user_items_ is not None  # checked above; for type checkers
        # a known user without training rows has a (near) zero factor: rank by popularity
        known &= np.diff(self.user_items_.indptr)[safe] > 0
        return np.asarray(self.user_factors_)[safe], ~known

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        """``U[u] @ V.T``; popularity shares for users without factors or history."""
        vecs, missing = self.user_vectors(users, user_items)
        scores = vecs @ np.asarray(self.item_factors_).T
        return fill_rows(scores.astype(np.float32, copy=False), missing, self.popularity_)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``score`` at each pair without building full rows; NaN for unknown IDs."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        out = np.full(len(users), np.nan, dtype=np.float32)
        ok = (users >= 0) & (users < self.n_users_) & (items >= 0) & (items < self.n_items_)
        vecs, missing = self.user_vectors(users[ok])
        known_items = items[ok]
        values = np.einsum("nf,nf->n", vecs, np.asarray(self.item_factors_)[known_items])
        values[missing] = np.asarray(self.popularity_)[known_items[missing]]
        out[ok] = values
        return out

    def item_vectors(self) -> np.ndarray:
        return np.asarray(self.item_factors_)

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
