"""Bayesian Personalized Ranking (Rendle et al. 2009) trained by ``implicit``, served by numpy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.models.als import to_numpy, use_cuda
from nextbuy.models.base import Recommender
from nextbuy.models.popularity import fill_rows, popularity_share
from nextbuy.models.registry import register
from nextbuy.progress import progress_bar


@register
class BPR(Recommender):
    """Pairwise-ranking matrix factorisation (values are treated as binary likes).

    ``implicit`` appends one column to the factors: the item bias in ``item_factors_`` and a
    constant 1 in ``user_factors_``, so ``U[u] @ V.T`` is exactly implicit's own score. BPR has
    no closed-form fold-in: an unknown user with history rows gets the mean factor of the items
    in that history (plus the bias column); known users keep their trained factors; users
    without either get item popularity.
    """

    name = "bpr"
    state_attributes: ClassVar[tuple[str, ...]] = ("user_factors", "item_factors", "popularity")
    defaults: ClassVar[dict[str, Any]] = {
        "factors": 64,  # latent dimensions (implicit adds one bias column)
        "learning_rate": 0.0062,  # SGD step size
        "regularization": 0.00017,  # L2 on the factors touched by each update (tuned on ML-100K)
        "iterations": 78,  # epochs of sampled (user, liked, not liked) triples
        "verify_negative_samples": True,  # resample negatives the user actually liked
        "random_state": 42,  # seed of the initial factors and the sampling
        "num_threads": 0,  # implicit's threads; 0 = all cores (more than 1 is not reproducible)
        "device": "auto",  # "auto" (GPU when implicit has CUDA), "cpu" or "cuda"
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.user_factors_: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.item_factors_: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.popularity_: np.ndarray = np.zeros(0, dtype=np.float32)

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> BPR:
        """Run implicit's BPR-SGD on the binary interaction matrix."""
        p = self.params
        common = {
            "factors": int(p["factors"]),
            "learning_rate": float(p["learning_rate"]),
            "regularization": float(p["regularization"]),
            "iterations": int(p["iterations"]),
            "verify_negative_samples": bool(p["verify_negative_samples"]),
            "random_state": p["random_state"],
        }
        auc: list[float] = []
        with (
            threadpool_limits(1, "blas"),
            progress_bar(int(p["iterations"]), "BPR", enabled=show_progress) as advance,
        ):
            if use_cuda(p["device"]):
                import implicit.gpu.bpr

                model = implicit.gpu.bpr.BayesianPersonalizedRanking(**common)
            else:
                import implicit.cpu.bpr

                model = implicit.cpu.bpr.BayesianPersonalizedRanking(
                    **common, num_threads=int(p["num_threads"])
                )

            def callback(epoch: int, elapsed: float, correct: int, skipped: int) -> None:
                # implicit samples one triple per stored interaction each epoch
                judged = train.csr.nnz - skipped
                if judged > 0:
                    auc.append(correct / judged)
                    advance(train_auc=auc[-1])
                else:
                    advance()

            model.fit(train.binary_csr(), show_progress=False, callback=callback)
        if hasattr(model, "to_cpu"):
            model = model.to_cpu()
        self.user_factors_ = to_numpy(model.user_factors)
        self.item_factors_ = to_numpy(model.item_factors)
        self.popularity_ = popularity_share(train.csr)
        self.history_ = {"train_auc": auc} if auc else {}
        self._remember(train)
        return self

    def recalculate_user(self, user_items: sp.csr_matrix) -> np.ndarray:
        """User vectors for history rows: mean item factor of the history, bias column 1."""
        rows = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        rows.data[:] = 1.0
        counts = np.maximum(np.diff(rows.indptr), 1).astype(np.float32)
        vecs = np.asarray(rows @ np.asarray(self.item_factors_), dtype=np.float32)
        vecs /= counts[:, None]
        vecs[:, -1] = 1.0
        return vecs

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        """``U[u] @ V.T`` (bias included); see the class docstring for unknown users."""
        users = np.asarray(users, dtype=np.int64).ravel()
        known = (users >= 0) & (users < self.n_users_)
        vecs = np.asarray(self.user_factors_)[np.where(known, users, 0)]
        missing = ~known
        if user_items is not None and missing.any():
            rows = sp.csr_matrix(user_items)[missing]
            vecs = vecs.copy()
            vecs[missing] = self.recalculate_user(rows)
            missing[missing] = np.diff(rows.indptr) == 0
        scores = (vecs @ np.asarray(self.item_factors_).T).astype(np.float32, copy=False)
        return fill_rows(scores, missing, self.popularity_)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``U[u] . V[i]`` per pair; NaN for unknown IDs."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        out = np.full(len(users), np.nan, dtype=np.float32)
        ok = (users >= 0) & (users < self.n_users_) & (items >= 0) & (items < self.n_items_)
        u = np.asarray(self.user_factors_)[users[ok]]
        v = np.asarray(self.item_factors_)[items[ok]]
        out[ok] = np.einsum("nf,nf->n", u, v)
        return out

    def item_vectors(self) -> np.ndarray:
        """Item factors without the bias column (similarity should not favour popular items)."""
        return np.asarray(self.item_factors_)[:, :-1]

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, step size, L2 and epochs."""
        return {
            "factors": trial.suggest_categorical("factors", [16, 32, 64, 128]),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.1, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 0.3, log=True),
            "iterations": trial.suggest_int("iterations", 20, 300, log=True),
        }
