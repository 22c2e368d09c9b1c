"""EASE: closed-form shallow autoencoder over items (Steck 2019), scored by history @ B."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.common import pad_neighbours, popularity_share
from nextbuy.models.itemitem import ItemItemModel
from nextbuy.models.params import Auto, Hyperparameters, NonNegative, param
from nextbuy.models.weighting import decayed, recency, weigh_rows
from nextbuy.retrieval import topk

#: Columns handled at once by the blockwise steps (bounds the temporary arrays).
_BLOCK = 1024


def ease_weights(x: sp.csr_matrix, regularization: float, dropout: float = 0.0) -> np.ndarray:
    """``B = I - P / diag(P)`` with ``P = (X^T X + L)^-1`` and zero diagonal, float32.

    See :func:`ease_solution`, which also returns ``diag(P)``.
    """
    return ease_solution(x, regularization, dropout)[0]


def ease_solution(
    x: sp.csr_matrix, regularization: float, dropout: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(B, diag(P))``: EASE's weights ``B = I - P / diag(P)`` (zero diagonal, float32) with
    ``P = (X^T X + L)^-1``, and ``diag(P)`` (from which ``P = (I - B) diag(P)``).

    ``L = reg I + dropout / (1 - dropout) * diag(X^T X)``: the dropout term is the penalty a
    denoising autoencoder with input dropout ``dropout`` implies (Steck 2020, "Autoencoders
    that don't overfit towards the identity", EDLAE), which regularizes popular items more.

    Peak memory is one float64 and one float32 ``n_items^2`` array: the Gram matrix is built
    in column blocks, inverted in place by Cholesky (LAPACK potrf/potri on the F-ordered view
    of the symmetric matrix, so nothing is copied) and symmetrised block by block.
    """
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"ease: dropout must be in [0, 1), not {dropout!r}")
    n = x.shape[1]
    xt = sp.csc_matrix(x).T.tocsr()
    x_csc = sp.csc_matrix(x)
    gram = np.empty((n, n), dtype=np.float64)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        gram[:, start:stop] = (xt @ x_csc[:, start:stop]).toarray()
    return solve_gram(gram, regularization, dropout)


def solve_gram(
    gram: np.ndarray, regularization: float, dropout: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ease_solution` from a symmetric positive semi-definite float64 ``gram`` (or any
    kernel matrix of the columns), which is overwritten: ``(B, diag(P))``, float32."""
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"ease: dropout must be in [0, 1), not {dropout!r}")
    n = gram.shape[0]
    counts = np.diag(gram).copy()
    gram[np.diag_indices(n)] += regularization + dropout / (1.0 - dropout) * counts
    # gram is symmetric, so its transpose is the same matrix in Fortran order: LAPACK then
    # works in place. potrf/potri read and fill the upper triangle of that view.
    chol, info = scipy.linalg.lapack.dpotrf(gram.T, lower=False, overwrite_a=True)
    if info != 0:
        raise ConfigError("ease: Gram matrix not positive definite (regularization too low?)")
    inv, info = scipy.linalg.lapack.dpotri(chol, lower=False, overwrite_c=True)
    if info != 0:
        raise ConfigError("ease: could not invert the Gram matrix")
    for start in range(0, n, _BLOCK):  # copy the upper triangle onto the lower one
        stop = min(start + _BLOCK, n)
        inv[start:stop, :start] = inv[:start, start:stop].T
        block = inv[start:stop, start:stop]
        block[...] = np.triu(block) + np.triu(block, 1).T
    diag = np.diag(inv).copy()
    inv /= -diag[None, :]
    inv[np.diag_indices(n)] = 0.0
    return inv.astype(np.float32), diag.astype(np.float32)


class EASEConfig(Hyperparameters):
    """Hyper-parameters of :class:`EASE`."""

    regularization: NonNegative | Auto = param(
        "auto", "lambda on the Gram diagonal; auto = 470 x sqrt(per item / 47.56)"
    )
    dropout: float = param(
        0.66, "EDLAE: adds dropout / (1 - dropout) * item count to the diagonal", ge=0, lt=1
    )
    weighting: Literal["binary", "linear", "log"] = param(
        "binary", "binary, or 1 + alpha * linear/log value"
    )
    alpha: float = param(1.0, "slope of the linear/log weighting", ge=0)
    max_items: int = param(
        30_000, "refuse larger catalogues: fitting needs ~12 * n_items^2 bytes", ge=1
    )
    half_life_days: float = param(
        0.0, "time decay of interaction weights: half-life in days; 0 = off", ge=0
    )


class EASE(ItemItemModel):
    """Item-item weights ``B = I - P / diag(P)``, ``P = (X^T X + L)^-1``, diag(B) = 0, where
    ``L = reg I`` (Steck 2019) plus, with ``dropout > 0``, the EDLAE emphasis on popular items.

    Scores are ``history @ B`` so any history, including a new user's, is scored without
    refitting; users with an empty history get item popularity. Memory is two dense
    ``n_items^2`` matrices while fitting, hence the ``max_items`` guard.
    """

    name = "ease"
    config_class = EASEConfig
    config: EASEConfig
    state_attributes: ClassVar[tuple[str, ...]] = ("weights", "popularity")

    weights_: np.ndarray  # B, items x items, zero diagonal

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Invert the regularised Gram matrix once (Cholesky) and normalise its columns."""
        cfg = self.config
        n_items = train.n_items
        if n_items > cfg.max_items:
            gib = 12 * n_items**2 / 2**30
            raise ConfigError(
                f"ease: {n_items} items needs about {gib:.0f} GiB to fit (dense item x item "
                f"matrices); max_items is {cfg.max_items}. Use itemknn or als for large "
                "catalogues, or raise max_items if the machine has the memory."
            )
        self.recency_ = recency(train, cfg.half_life_days)
        x = decayed(self._weigh(train.csr), self.recency_)
        self.weights_ = ease_weights(x, float(cfg.regularization), cfg.dropout)
        self.popularity_ = popularity_share(train.csr)

    def _weigh(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        return weigh_rows(rows, self.config.weighting, self.config.alpha)

    def _item_weights(self) -> np.ndarray:
        return np.asarray(self.weights_)

    def contributions(self, history: sp.spmatrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]``: ``x_j B[j, i]`` per past item ``j`` (sums to score)."""
        return self._history_contributions(history, items)

    def similar_items(
        self, items: np.ndarray | list[int], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items with the largest weights in column ``i`` of B: those that best predict ``i``."""
        items = np.asarray(items, dtype=np.int64).ravel()
        valid = (items >= 0) & (items < self.n_items_)
        safe = np.where(valid, items, 0)
        sims = np.array(np.asarray(self.weights_)[:, safe].T, dtype=np.float32)
        sims[np.arange(len(items)), safe] = -np.inf
        return pad_neighbours(*topk(sims, min(k, self.n_items_ - 1)), k, valid)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the L2 and the EDLAE dropout emphasis."""
        return {
            "regularization": trial.suggest_float("regularization", 10.0, 3000.0, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.8),
        }
