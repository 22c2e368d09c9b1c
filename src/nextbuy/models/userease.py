"""User-user EASE: each user's history reconstructed from the other users' (EASE, transposed)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.base import Recommender
from nextbuy.models.ease import ease_solution
from nextbuy.models.popularity import fill_rows, popularity_share
from nextbuy.models.registry import register


@register
class UserEASE(Recommender):
    """EASE's closed form on the users: ``B = I - P / diag(P)``, ``P = (X X^T + L)^-1``.

    Column ``u`` of ``B`` says how to rebuild user ``u``'s row of ``X`` from the other users'
    rows, so a known user's scores are ``B[:, u]^T X``: user-based collaborative filtering
    with learned, not cosine, neighbour weights. It ranks differently from the item models
    (EASE, iALS), which is what a blend needs. ``L`` is ``reg I`` plus the EDLAE ``dropout``
    term, as in :func:`nextbuy.models.ease.ease_weights`.

    A new user (history rows given to :meth:`score`) gets the ridge regression of their row
    on the training users, ``b = P X x``, then ``b^T X``; empty histories get popularity.
    Memory is ``n_users^2`` floats twice while fitting, hence ``max_users``.
    """

    name = "userease"
    state_attributes: ClassVar[tuple[str, ...]] = ("weights", "p_diag", "popularity")
    defaults: ClassVar[dict[str, Any]] = {
        "regularization": 190.0,  # lambda added to the user Gram diagonal; tuned on ML-100K
        "dropout": 0.79,  # EDLAE emphasis: adds dropout / (1 - dropout) * user counts
        "max_users": 30_000,  # refuse more users: fitting needs ~12 * n_users^2 bytes
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.weights_: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        #: ``diag(P)``: with ``B`` it gives back ``P = (I - B) diag(P)`` for fold-in.
        self.p_diag_: np.ndarray = np.zeros(0, dtype=np.float32)
        self.popularity_: np.ndarray = np.zeros(0, dtype=np.float32)

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> UserEASE:
        """Invert the regularised user Gram matrix once (Cholesky) and normalise it."""
        p = self.params
        if train.n_users > int(p["max_users"]):
            gib = 12 * train.n_users**2 / 2**30
            raise ConfigError(
                f"userease: {train.n_users} users needs about {gib:.0f} GiB to fit (dense user "
                f"x user matrices); max_users is {p['max_users']}. Use ease, ials or als."
            )
        x = train.binary_csr()
        reg, dropout = float(p["regularization"]), float(p["dropout"])
        self.weights_, self.p_diag_ = ease_solution(sp.csr_matrix(x.T), reg, dropout)
        self.popularity_ = popularity_share(train.csr)
        self._remember(train)
        return self

    def _binary_train(self) -> sp.csr_matrix:
        assert self.user_items_ is not None
        x = sp.csr_matrix(self.user_items_, dtype=np.float32, copy=True)
        x.data[:] = 1.0
        return x

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        """``B[:, u]^T X`` for known users; ridge fold-in for history rows; else popularity."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64).ravel()
        x = self._binary_train()
        weights = np.asarray(self.weights_)
        if user_items is not None:
            rows = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
            rows.data[:] = 1.0
            overlap = np.asarray((x @ rows.T).todense(), dtype=np.float32)  # X x, [n_users, n]
            scaled = overlap * np.asarray(self.p_diag_)[:, None]
            coef = scaled - weights @ scaled  # P X x = (I - B) diag(P) X x
            empty = np.diff(rows.indptr) == 0
        else:
            known = (users >= 0) & (users < self.n_users_)
            safe = np.where(known, users, 0)
            coef = weights[:, safe]
            assert self.user_items_ is not None
            empty = ~known | (np.diff(self.user_items_.indptr)[safe] == 0)
        scores = np.asarray((x.T @ coef).T, dtype=np.float32)
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
