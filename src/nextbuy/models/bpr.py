"""Bayesian Personalized Ranking (Rendle et al. 2009) trained by ``implicit``, served by numpy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.models.common import implicit_factors, implicit_model, popularity_share
from nextbuy.models.factor import FactorModel, UserSide
from nextbuy.models.params import AtLeastOne, Auto, Hyperparameters, NonNegative, param
from nextbuy.progress import progress_bar


class BPRConfig(Hyperparameters):
    """Hyper-parameters of :class:`BPR`."""

    factors: AtLeastOne | Auto = param(
        "auto", "latent dimensions (+1 bias); auto = 64 / cbrt(sparsity)"
    )
    learning_rate: float = param(0.0062, "SGD step size", gt=0)
    regularization: float = param(0.00017, "L2 on the factors touched by each update", ge=0)
    iterations: AtLeastOne | Auto = param(
        "auto", "epochs of sampled triples; auto = 6.2M / interactions, in 78..400"
    )
    verify_negative_samples: bool = param(True, "resample negatives the user actually liked")
    random_state: int | None = param(42, "seed of the initial factors and the sampling")
    num_threads: int = param(0, "0 = all cores (more than one thread is not reproducible)", ge=0)
    device: Literal["auto", "cpu", "cuda"] = param("auto", "auto | cpu | cuda")
    popularity_weight: NonNegative | Auto = param(
        "auto", "x log(popularity) added to item biases; auto = sparsity ** 0.75"
    )


def with_popularity_prior(
    item_factors: np.ndarray, binary: sp.csr_matrix, weight: float
) -> np.ndarray:
    """Item factors whose bias column gains ``weight * log(share of interactions)``.

    implicit draws BPR's negatives from the stored interactions, i.e. in proportion to
    popularity, so the learned scores approach log p(i | u) / p(i): popularity is trained
    out. Adding log p(i) back (the logQ correction) restores it; sparse data, whose factors
    are noisier, leans on it more (``popularity_weight: auto``).
    """
    out = np.array(item_factors, dtype=np.float32, copy=True)
    if weight == 0.0 or out.shape[0] == 0:
        return out
    counts = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
    share = np.maximum(counts, 1.0) / max(float(counts.sum()), 1.0)
    out[:, -1] += np.float32(weight) * np.log(share).astype(np.float32)
    return out


class BPR(FactorModel):
    """Pairwise-ranking matrix factorisation (values are treated as binary likes).

    ``implicit`` appends one column to the factors: the item bias in ``item_factors_`` and a
    constant 1 in ``user_factors_``, so ``U[u] @ V.T`` is exactly implicit's own score. BPR has
    no closed-form fold-in: with ``recalculate_user=True`` an unknown user gets the mean factor
    of the items in their history (plus the bias column) while known users keep their trained
    factors; users without either get item popularity.
    """

    name = "bpr"
    config_class = BPRConfig
    config: BPRConfig
    #: A known user always has a trained factor, even without training rows.
    empty_users_unknown: ClassVar[bool] = False

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Run implicit's BPR-SGD on the binary interaction matrix."""
        cfg = self.config
        common = {
            "factors": cfg.factors,
            "learning_rate": cfg.learning_rate,
            "regularization": cfg.regularization,
            "iterations": cfg.iterations,
            "verify_negative_samples": cfg.verify_negative_samples,
            "random_state": cfg.random_state,
        }
        auc: list[float] = []
        with (
            threadpool_limits(1, "blas"),
            progress_bar(int(cfg.iterations), "BPR", enabled=show_progress) as advance,
        ):
            model = implicit_model("bpr", cfg.device, cfg.num_threads, **common)

            def callback(epoch: int, elapsed: float, correct: int, skipped: int) -> None:
                # implicit samples one triple per stored interaction each epoch
                judged = train.csr.nnz - skipped
                if judged > 0:
                    auc.append(correct / judged)
                    advance(train_auc=auc[-1])
                else:
                    advance()

            model.fit(train.binary_csr(), show_progress=False, callback=callback)
        self.user_factors_, self.item_factors_ = implicit_factors(model)
        self.popularity_ = popularity_share(train.csr)
        self.item_factors_ = with_popularity_prior(
            self.item_factors_, train.binary_csr(), float(cfg.popularity_weight)
        )
        self.history_ = {"train_auc": auc} if auc else {}

    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """User vectors for history rows: mean item factor of the history, bias column 1."""
        rows = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        rows.data[:] = 1.0
        counts = np.maximum(np.diff(rows.indptr), 1).astype(np.float32)
        vecs = np.asarray(rows @ np.asarray(self.item_factors_), dtype=np.float32)
        vecs /= counts[:, None]
        vecs[:, -1] = 1.0
        return vecs

    def _history_side(self, users: np.ndarray, rows: sp.csr_matrix) -> UserSide:
        """Trained factors for known users; the history's mean factor for unknown ones."""
        side = self._user_side(users)
        missing = side.fallback.copy()
        vectors = side.vectors
        if missing.any():
            unknown_rows = rows[missing]
            vectors = vectors.copy()
            vectors[missing] = self.recalculate_user(unknown_rows)
            missing[missing] = np.diff(unknown_rows.indptr) == 0
        return UserSide(vectors, None, missing)

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
