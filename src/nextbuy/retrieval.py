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


#: Entries per group of the two-stage selection (see :func:`_grouped_partition`).
_GROUP = 32


def _partition(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries along the last axis, unordered: (positions, values)."""
    m = scores.shape[-1]
    if k > 0 and m >= _GROUP * max(8 * k, 64):
        found = _grouped_partition(scores, k)
        if found is not None:
            return found
    if k < m:
        part = np.argpartition(scores, m - k, axis=-1)[..., m - k :]
    else:
        part = np.broadcast_to(np.arange(m), scores.shape)
    return part, _along(scores, part)


def _grouped_partition(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_partition` in two stages, about 4x faster on long rows (50,000 items).

    The row is cut into ``w`` strided groups of :data:`_GROUP` entries (entry ``j`` in group
    ``j % w``); the k largest entries lie in the k groups with the largest maxima, so only
    those ``32 k`` entries (plus the ragged tail) are partitioned. The group maxima are one
    element-wise ``maximum`` over 32 contiguous slices. None when a NaN is present (the
    caller's path handles it).
    """
    lead, m = scores.shape[:-1], scores.shape[-1]
    w = m // _GROUP
    m0 = w * _GROUP
    maxima = scores[..., :m0].reshape(*lead, _GROUP, w).max(axis=-2)
    if np.isnan(maxima).any() or (m0 < m and np.isnan(scores[..., m0:]).any()):
        return None
    groups = np.argpartition(maxima, w - k, axis=-1)[..., w - k :]
    cand = (groups[..., :, None] + np.arange(_GROUP) * w).reshape(*lead, k * _GROUP)
    if m0 < m:
        tail = np.broadcast_to(np.arange(m0, m), (*lead, m - m0))
        cand = np.concatenate([cand, tail], axis=-1)
    values = _along(scores, cand)
    part = np.argpartition(values, values.shape[-1] - k, axis=-1)[..., values.shape[-1] - k :]
    return _along(cand, part), _along(values, part)


def _along(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values`` picked at ``idx`` along the last axis: plain indexing for one row, one flat
    ``take`` for a C-contiguous matrix (about 2x faster than ``take_along_axis``, which
    builds an index per axis)."""
    if values.ndim == 1:
        return values[idx]
    if values.ndim == 2 and values.flags.c_contiguous:
        n, m = values.shape
        return np.take(values, idx + (np.arange(n, dtype=np.intp) * m)[:, None])
    return np.take_along_axis(values, idx, axis=-1)


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
