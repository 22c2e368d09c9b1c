"""Infinite-width autoencoder over users: user-EASE with a ReLU neural tangent kernel (NTK).

An autoencoder with one infinitely wide ReLU layer, trained to convergence, is kernel ridge
regression with its neural tangent kernel (Sachdeva et al. 2022, "Infinite Recommendation
Networks", the ∞-AE). Here that kernel replaces user-EASE's linear one, ``X X^T``, and keeps
EASE's zero diagonal and the EDLAE dropout emphasis, so each user is rebuilt from the others
with weights that grow non-linearly with the overlap of their histories.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.common import popularity_share
from nextbuy.models.ease import solve_gram
from nextbuy.models.params import Auto, NonNegative, param
from nextbuy.models.userease import UserEASE, UserEASEConfig

#: Rows of the kernel turned from dot products into NTK values at once (bounds temporaries).
_ROWS = 2048


def ntk(dots: np.ndarray, row_norms: np.ndarray, col_norms: np.ndarray) -> np.ndarray:
    """The ReLU NTK of one hidden layer from dot products, in place (float64).

    With ``c`` the cosine of two rows and ``t = arccos(c)``:
    ``K = |x| |y| ((sin t + (pi - t) c) / pi + c (pi - t) / pi)``, so ``K(x, x) = 2 |x|^2``
    and rows without interactions (norm 0) get 0.
    """
    scale = np.outer(row_norms, col_norms)
    cos = np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)
    np.clip(cos, -1.0, 1.0, out=cos)
    theta = np.arccos(cos)
    dots[...] = scale * (np.sin(theta) + 2.0 * (np.pi - theta) * cos) / np.pi
    return dots


def user_kernel(x: sp.csr_matrix) -> np.ndarray:
    """The users x users NTK of the binary rows ``x`` (float64), built in row blocks."""
    x = sp.csr_matrix(x, dtype=np.float64)
    xt = sp.csc_matrix(x.T)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    kernel = np.empty((x.shape[0], x.shape[0]), dtype=np.float64)
    for start in range(0, x.shape[0], _ROWS):
        stop = min(start + _ROWS, x.shape[0])
        block = (x[start:stop] @ xt).toarray()
        kernel[start:stop] = ntk(block, norms[start:stop], norms)
    return kernel


class InfAEConfig(UserEASEConfig):
    """Hyper-parameters of :class:`InfAE`."""

    regularization: NonNegative | Auto = param(
        "auto", "lambda, times the mean kernel diagonal; auto = 2 x max(1, sparsity / 7) ** 2"
    )
    dropout: float = param(
        0.5, "EDLAE: adds dropout / (1 - dropout) * K(u, u) to the diagonal", ge=0, lt=1
    )
    max_users: int = param(30_000, "refuse more users: fitting needs ~16 * n_users^2 bytes", ge=1)


class InfAE(UserEASE):
    """``B = I - P / diag(P)``, ``P = (K + L)^-1`` for the users' NTK ``K`` (see the module).

    ``L = lambda mean(diag K) I + dropout / (1 - dropout) diag(K)``. A known user's scores are
    ``B[:, u]^T X``; a new history row ``x`` gets the kernel ridge regression ``b = P k(x)``
    on the training users, then ``b^T X``; empty histories get popularity. Memory and time
    grow with users^2 and users^3, as for ``userease``.
    """

    name = "infae"
    config_class = InfAEConfig
    config: InfAEConfig
    state_attributes: ClassVar[tuple[str, ...]] = ("weights", "p_diag", "popularity")

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Build the user NTK, add the penalties and invert it once (Cholesky)."""
        cfg = self.config
        if train.n_users > cfg.max_users:
            gib = 16 * train.n_users**2 / 2**30
            raise ConfigError(
                f"infae: {train.n_users} users needs about {gib:.0f} GiB to fit (dense user "
                f"x user matrices); max_users is {cfg.max_users}. Use ease, ials or als."
            )
        kernel = user_kernel(train.binary_csr())
        scale = float(np.mean(np.diag(kernel))) or 1.0
        self.weights_, self.p_diag_ = solve_gram(
            kernel, float(cfg.regularization) * scale, cfg.dropout
        )
        self.popularity_ = popularity_share(train.csr)

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Kernel ridge fold-in of each row on the training users: ``b = P k(x)``, ``b^T X``."""
        x = self._binary_train()
        binary = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        binary.data[:] = 1.0
        dots = np.asarray((x @ binary.T).todense(), dtype=np.float64)  # [n_users, n]
        train_norms = np.sqrt(np.diff(x.indptr).astype(np.float64))
        row_norms = np.sqrt(np.diff(binary.indptr).astype(np.float64))
        k = ntk(dots, train_norms, row_norms).astype(np.float32)
        scaled = k * np.asarray(self.p_diag_)[:, None]
        coef = scaled - np.asarray(self.weights_) @ scaled  # P k = (I - B) diag(P) k
        return self._reconstruct(coef, np.diff(binary.indptr) == 0)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the relative L2 and the EDLAE dropout emphasis."""
        return {
            "regularization": trial.suggest_float("regularization", 0.1, 100.0, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.9),
        }
