"""Top-k retrieval over dense score matrices and item vectors (exact, vectorized)."""

from __future__ import annotations

import numpy as np


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense score matrix, sorted best first (argpartition + sort of k)."""
    n, m = scores.shape
    k = min(k, m)
    if k == 0:
        return np.empty((n, 0), np.int32), np.empty((n, 0), np.float32)
    if k < m:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1).astype(np.int32)
    return ids, np.take_along_axis(vals, order, axis=1).astype(np.float32)


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
