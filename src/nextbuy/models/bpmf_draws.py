"""BPMF's conjugate Gibbs draws: rows given the other side, Normal-Gamma priors, noise scales."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

#: Hyper-prior of the per-dimension prior precisions (Gamma shape and rate) and of the means.
A0, B0, G0 = 1.0, 1.0, 1.0


def sample_side(
    weights: sp.csr_matrix,
    targets: np.ndarray,
    design: np.ndarray,
    prior_precision: np.ndarray,
    prior_mean: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One Gibbs draw of every row's ``z`` (bias and factors) given the other side.

    Row ``u`` has Gaussian conditional with precision ``A_u = diag(lam) + sum_i w_ui x_i x_i^T``
    and mean ``A_u^-1 (lam * m + sum_i w_ui y_ui x_i)``, where ``x_i = design[i]`` and the
    stored ``w_ui`` (noise precisions) and ``y_ui = targets`` follow ``weights``' layout. All
    rows are drawn at once: the Gram matrices come from one sparse product with the
    per-column outer products, then a batched Cholesky gives ``mean + L^-T eps``.
    ``prior_mean`` is one mean ``m`` for every row (``[d]``) or one per row (``[n, d]``).
    """
    n, d = weights.shape[0], design.shape[1]
    outer = (design[:, :, None] * design[:, None, :]).reshape(len(design), d * d)
    prec = np.asarray(weights @ outer).reshape(n, d, d)
    prec[:, np.arange(d), np.arange(d)] += prior_precision[None, :]
    weighted = sp.csr_matrix(
        (weights.data * targets, weights.indices, weights.indptr), shape=weights.shape
    )
    rhs = np.asarray(weighted @ design) + prior_precision * prior_mean  # mean: [d] or [n, d]
    chol = np.linalg.cholesky(prec)
    mean = np.linalg.solve(prec, rhs[:, :, None])[:, :, 0]
    noise = rng.standard_normal((n, d))
    return mean + np.linalg.solve(np.swapaxes(chol, 1, 2), noise[:, :, None])[:, :, 0]


def sample_prior(z: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension precision and mean of the rows' Gaussian prior (Normal-Gamma posterior)."""
    n = z.shape[0]
    zbar = z.mean(axis=0)
    spread = ((z - zbar) ** 2).sum(axis=0) + G0 * n / (G0 + n) * zbar**2
    precision = rng.gamma(A0 + n / 2.0, 1.0 / (B0 + 0.5 * spread))
    mean = rng.normal(n * zbar / (G0 + n), 1.0 / np.sqrt((G0 + n) * precision))
    return precision, mean


def sample_scales(
    groups: np.ndarray, sq_err: np.ndarray, counts: np.ndarray, strength: float, rng: Any
) -> np.ndarray:
    """Per-group noise precision scales ``s ~ Gamma(k + n/2, k + SSE/2)`` (prior mean 1)."""
    sse = np.bincount(groups, weights=sq_err, minlength=len(counts))
    return rng.gamma(strength + counts / 2.0, 1.0 / (strength + 0.5 * sse))
