"""Batched ridge regressions that fold users into fixed item factors (online personalisation)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Entries whose outer products are materialised at once (float64 f x f each): bounds memory.
_ENTRY_BUDGET = 1 << 23
#: Users solved together (their f x f systems are held at once).
_USER_CHUNK = 1024


def ridge_fold_in(
    rows: sp.csr_matrix,
    vectors: np.ndarray,
    gram_weights: np.ndarray,
    targets: np.ndarray,
    reg: float | np.ndarray,
    base_gram: np.ndarray | None = None,
) -> np.ndarray:
    """Solve one small ridge system per CSR row, all rows batched.

    For row ``u`` with stored entries ``(i, w_ui = gram_weights[e], y_ui = targets[e])``::

        x_u = (G0 + diag(reg_u) + sum_i w_ui v_i v_i^T)^-1  sum_i y_ui v_i

    where ``v_i = vectors[i]`` and ``G0 = base_gram`` (zero if None). ``gram_weights`` and
    ``targets`` are aligned with ``rows.data``. ``reg`` is a scalar, one value per row, or one
    value per row and dimension. Implicit ALS uses ``G0 = V^T V``, ``w = c - 1``, ``y = c``;
    explicit MF uses ``w = 1``, ``y = residual rating``. Returns float32 ``[n_rows, f]``.
    One row (a request's user) is solved densely, touching only the rows of its items.
    """
    rows = rows if isinstance(rows, sp.csr_matrix) else sp.csr_matrix(rows)
    n, f = rows.shape[0], vectors.shape[1]
    gram_weights = np.asarray(gram_weights, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    reg_arr = _reg_matrix(reg, n, f)
    if n == 1:
        gram, v = ridge_system(rows.indices, vectors, gram_weights, reg_arr[0], base_gram)
        return np.linalg.solve(gram, v.T @ targets)[None, :].astype(np.float32)
    vecs = np.asarray(vectors, dtype=np.float64)
    indptr = rows.indptr.astype(np.int64)
    cols = rows.indices
    rhs = sp.csr_matrix((targets, cols, indptr), shape=rows.shape) @ vecs
    out = np.zeros((n, f), dtype=np.float32)
    per_slice = max(1, _ENTRY_BUDGET // (f * f))
    diag = np.arange(f)
    for lo in range(0, n, _USER_CHUNK):
        hi = min(lo + _USER_CHUNK, n)
        gram = np.zeros((hi - lo, f, f), dtype=np.float64)
        if base_gram is not None:
            gram += np.asarray(base_gram, dtype=np.float64)
        gram[:, diag, diag] += reg_arr[lo:hi]
        start, stop = int(indptr[lo]), int(indptr[hi])
        owner = np.repeat(np.arange(hi - lo), np.diff(indptr[lo : hi + 1]))
        # Entries are processed in slices so that at most _ENTRY_BUDGET floats of outer products
        # exist at once; a slice may split a user, the sparse selector adds the parts up.
        for s in range(start, stop, per_slice):
            e = min(s + per_slice, stop)
            v = vecs[cols[s:e]]
            outer = (v * gram_weights[s:e, None])[:, :, None] * v[:, None, :]
            select = sp.csr_matrix(
                (np.ones(e - s), (owner[s - start : e - start], np.arange(e - s))),
                shape=(hi - lo, e - s),
            )
            gram += (select @ outer.reshape(e - s, f * f)).reshape(hi - lo, f, f)
        out[lo:hi] = np.linalg.solve(gram, rhs[lo:hi, :, None])[:, :, 0]
    return out


def ridge_system(
    items: np.ndarray,
    vectors: np.ndarray,
    gram_weights: np.ndarray,
    reg: float | np.ndarray,
    base_gram: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One user's system matrix ``G0 + diag(reg) + sum_i w_i v_i v_i^T`` and the ``v_i`` rows.

    ``items`` are the user's item indices (aligned with ``gram_weights``); float64 throughout.
    :func:`ridge_fold_in` solves it for one user, explanations reuse it to split a score.
    """
    v = np.asarray(vectors[items], dtype=np.float64)
    gram = (v.T * np.asarray(gram_weights, dtype=np.float64)) @ v
    if base_gram is not None:
        gram += base_gram
    gram[np.diag_indices_from(gram)] += reg
    return gram, v


def _reg_matrix(reg: float | np.ndarray, n: int, f: int) -> np.ndarray:
    """Broadcast a scalar / per-row / per-row-and-dimension regularisation to ``[n, f]``."""
    arr = np.asarray(reg, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return np.broadcast_to(arr, (n, f))
