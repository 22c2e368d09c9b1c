"""User-user EASE: each user's history reconstructed from the other users' (EASE, transposed)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.base import Recommender
from nextbuy.models.common import fill_rows, popularity_share
from nextbuy.models.ease import ease_solution
from nextbuy.models.params import Auto, Hyperparameters, NonNegative, param


class UserEASEConfig(Hyperparameters):
    """Hyper-parameters of :class:`UserEASE`."""

    regularization: NonNegative | Auto = param(
        "auto", "lambda on the user Gram diagonal; auto = 190 x sqrt(sparsity)"
    )
    dropout: float = param(
        0.79, "EDLAE: adds dropout / (1 - dropout) * user count to the diagonal", ge=0, lt=1
    )
    max_users: int = param(30_000, "refuse more users: fitting needs ~12 * n_users^2 bytes", ge=1)


class UserEASE(Recommender):
    """EASE's closed form on the users: ``B = I - P / diag(P)``, ``P = (X X^T + L)^-1``.

    Column ``u`` of ``B`` says how to rebuild user ``u``'s row of ``X`` from the other users'
    rows, so a known user's scores are ``B[:, u]^T X``: user-based collaborative filtering
    with learned, not cosine, neighbour weights. It ranks differently from the item models
    (EASE, iALS), which is what a blend needs. ``L`` is ``reg I`` plus the EDLAE ``dropout``
    term, as in :func:`nextbuy.models.ease.ease_weights`.

    A new user (history rows, ``recalculate_user=True``) gets the ridge regression of their row
    on the training users, ``b = P X x``, then ``b^T X``; empty histories get popularity.
    Memory is ``n_users^2`` floats twice while fitting, hence ``max_users``.
    """

    name = "userease"
    config_class = UserEASEConfig
    config: UserEASEConfig
    state_attributes: ClassVar[tuple[str, ...]] = ("weights", "p_diag", "popularity")

    weights_: np.ndarray  # B, users x users, zero diagonal
    #: ``diag(P)``: with ``B`` it gives back ``P = (I - B) diag(P)`` for fold-in.
    p_diag_: np.ndarray
    popularity_: np.ndarray  # share of users per item: the scores of empty histories

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Invert the regularised user Gram matrix once (Cholesky) and normalise it."""
        cfg = self.config
        if train.n_users > cfg.max_users:
            gib = 12 * train.n_users**2 / 2**30
            raise ConfigError(
                f"userease: {train.n_users} users needs about {gib:.0f} GiB to fit (dense user "
                f"x user matrices); max_users is {cfg.max_users}. Use ease, ials or als."
            )
        x = train.binary_csr()
        self.weights_, self.p_diag_ = ease_solution(
            sp.csr_matrix(x.T), float(cfg.regularization), cfg.dropout
        )
        self.popularity_ = popularity_share(train.csr)

    def _binary_train(self) -> sp.csr_matrix:
        assert self.user_items_ is not None
        x = sp.csr_matrix(self.user_items_, dtype=np.float32, copy=True)
        x.data[:] = 1.0
        return x

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """``B[:, u]^T X`` for known users; popularity for unknown or empty ones."""
        assert self.user_items_ is not None
        known = (users >= 0) & (users < self.n_users_)
        safe = np.where(known, users, 0)
        coef = np.asarray(self.weights_)[:, safe]
        empty = ~known | ((self.user_items_.indptr[safe + 1] - self.user_items_.indptr[safe]) == 0)
        return self._reconstruct(coef, empty)

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Ridge fold-in of each row on the training users, ``b = P X x``, then ``b^T X``."""
        x = self._binary_train()
        binary = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        binary.data[:] = 1.0
        overlap = np.asarray((x @ binary.T).todense(), dtype=np.float32)  # X x, [n_users, n]
        scaled = overlap * np.asarray(self.p_diag_)[:, None]
        coef = scaled - np.asarray(self.weights_) @ scaled  # P X x = (I - B) diag(P) X x
        return self._reconstruct(coef, np.diff(binary.indptr) == 0)

    def _reconstruct(self, coef: np.ndarray, empty: np.ndarray) -> np.ndarray:
        """``coef^T X`` (one column of user weights per scored user); popularity where empty."""
        scores = np.asarray((self._binary_train().T @ coef).T, dtype=np.float32)
        return fill_rows(scores, empty, self.popularity_)

    def item_vectors(self) -> np.ndarray:
        """Each item as the users' reconstructed interest in it, ``(B^T X)^T``."""
        self._check_fitted()
        return np.asarray(self._binary_train().T @ np.asarray(self.weights_), dtype=np.float32)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the L2 and the EDLAE dropout emphasis."""
        return {
            "regularization": trial.suggest_float("regularization", 10.0, 3000.0, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.85),
        }
