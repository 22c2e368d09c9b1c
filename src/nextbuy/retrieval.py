"""Top-k retrieval over dense score matrices and item vectors (exact, vectorized).

:func:`topk` is the one top-k selection of the package: models, evaluation and serving all
rank through it, so ties, NaN and short rows behave the same everywhere.
"""

from __future__ import annotations

import numpy as np


def topk(scores: np.ndarray, k: int, block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense score matrix, best first: ``(ids int32, scores float32)``.

    argpartition then a stable sort of the k survivors, in blocks of rows so the work stays in
    cache (about 3x faster than one call on a 1024 x 20000 matrix); a single row takes the 1-D
    path (a fifth faster than ``axis=1``). ``k`` is clipped to the row length; NaN ranks as
    ``-inf`` (reported as ``-inf``), so it never pushes a real score out of the top k.
    """
    n, m = scores.shape
    k = max(min(k, m), 0)
    if n == 1 and k:  # one row (every single-user request): the 1-D path, no blocks
        ids, vals = _top_sorted(scores[0], k)
        return ids.astype(np.int32)[None, :], vals.astype(np.float32, copy=False)[None, :]
    ids = np.empty((n, k), dtype=np.int32)
    vals = np.empty((n, k), dtype=np.float32)
    for start in range(0, n if k else 0, block):
        ids[start : start + block], vals[start : start + block] = _top_sorted(
            scores[start : start + block], k
        )
    return ids, vals


def _top_sorted(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries along the last axis, best first: (positions, values)."""
    part, top = _partition(scores, k)
    if np.isnan(top).any():  # NaN sorts above everything: any NaN lands in ``top``
        part, top = _partition(np.where(np.isnan(scores), -np.inf, scores), k)
    order = np.argsort(-top, axis=-1, kind="stable")
    return _along(part, order), _along(top, order)


def _partition(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries along the last axis, unordered: (positions, values)."""
    m = scores.shape[-1]
    if k < m:
        part = np.argpartition(scores, m - k, axis=-1)[..., m - k :]
    else:
        part = np.broadcast_to(np.arange(m), scores.shape)
    return part, _along(scores, part)


def _along(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values`` picked at ``idx`` along the last axis (plain indexing for one row: faster)."""
    return values[idx] if values.ndim == 1 else np.take_along_axis(values, idx, axis=-1)


def cosine_neighbours(
    vectors: np.ndarray, items: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine neighbours of ``items`` among all rows of ``vectors``, self excluded."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    normed = vectors / np.maximum(norms, 1e-12)[:, None]
    valid = (items >= 0) & (items < len(vectors))
    sims = normed[np.where(valid, items, 0)] @ normed.T
    sims[np.arange(len(items)), np.where(valid, items, 0)] = -np.inf
    sims[:, norms == 0] = -np.inf
    ids, vals = topk(sims, min(k, max(len(vectors) - 1, 0)))
    ids[~valid] = -1
    vals[~valid] = -np.inf
    if ids.shape[1] < k:
        pad = k - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        vals = np.pad(vals, ((0, 0), (0, pad)), constant_values=-np.inf)
    ids[~np.isfinite(vals)] = -1
    return ids, vals
