"""SVD++'s implicit feedback as BPMF's prior mean, sampled in the SVD basis of the pattern."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp


class ImplicitPrior:
    """SVD++'s implicit term as the users' prior mean: ``z_u ~ N(m + x_u Y, diag(lam)^-1)``.

    ``x_u`` spreads ``|N(u)|^-1/2`` over the items user ``u`` rated, so which films a user
    chose to rate moves their bias and factors (Koren 2008), inside the Bayesian model as in
    Rendle's Bayesian SVD++: with ``p_u = z_u - x_u Y`` the likelihood is SVD++'s exactly.
    Given the users, each column of ``Y`` is a Bayesian ridge regression on ``X`` with
    precision ``lam_d X^T X + alpha_d I``. With the thin SVD ``X = W V^T`` (``W = U sqrt(s)``,
    one eigendecomposition of the smaller Gram matrix, at fit), ``Y = V c`` plus a part in
    ``X``'s null space that no rating sees: the sampler draws ``c [rank, d]`` coordinate-wise
    (independent given the users) and only the squared norm of the null part, for ``alpha``.
    """

    def __init__(self, rated: sp.csr_matrix) -> None:
        counts = np.diff(rated.indptr).astype(np.float64)
        norm = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        x = sp.csr_matrix(
            (np.repeat(norm, np.diff(rated.indptr)), rated.indices, rated.indptr),
            shape=rated.shape,
        )
        small = x @ x.T if x.shape[0] < x.shape[1] else x.T @ x
        vals, vecs = scipy.linalg.eigh(np.asarray(small.todense(), dtype=np.float32), driver="evd")
        vals, vecs = vals.astype(np.float64), vecs.astype(np.float64)
        keep = vals > 1e-6 * max(float(vals.max()), 1.0)
        self.eigvals = vals[keep]
        root = np.sqrt(self.eigvals)
        if x.shape[0] < x.shape[1]:  # vecs are U: W = U sqrt(s), V = X^T U / sqrt(s)
            self.user_side = vecs[:, keep] * root
            self.item_side = np.asarray(x.T @ vecs[:, keep]) / root
        else:  # vecs are V: W = X V
            self.item_side = vecs[:, keep]
            self.user_side = np.asarray(x @ self.item_side)
        self.null_dims = x.shape[1] - len(self.eigvals)

    def offsets(self, coords: np.ndarray) -> np.ndarray:
        """``x_u Y = W c`` for every user ``[n_users, d]``."""
        return np.asarray(self.user_side @ coords)

    def sample(
        self, targets: np.ndarray, precision: np.ndarray, alpha: np.ndarray, rng: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """A draw of ``c [rank, d]`` given ``targets = z - m``, and ``|Y_d|^2`` per dimension."""
        denom = precision[None, :] * self.eigvals[:, None] + alpha[None, :]
        mean = precision * (self.user_side.T @ targets) / denom
        coords = mean + rng.standard_normal(mean.shape) / np.sqrt(denom)
        null_sq = rng.chisquare(self.null_dims, len(alpha)) / alpha if self.null_dims else 0.0
        return coords, (coords**2).sum(axis=0) + null_sq

    def item_factors(self, coords: np.ndarray) -> np.ndarray:
        """``Y = V c [n_items, d]``: the implicit item factors (fold-in of new users)."""
        return np.asarray(self.item_side @ coords)
