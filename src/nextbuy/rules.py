"""Business rules as array operations: brand caps and attribute boosts.

Each rule works on whole score matrices or ranked candidate lists with numpy, never with a
Python loop over items, so it fits the serving hot path.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def boost_vector(
    codes: Mapping[str, np.ndarray],
    lookups: Mapping[str, Mapping[str, int]],
    boosts: Mapping[str, Mapping[str, float]],
    n_items: int,
) -> np.ndarray | None:
    """Per-item additive boost (float32) from ``boosts``; None when no rule applies.

    ``codes[column]`` holds each item's integer code and ``lookups[column]`` maps a
    case-folded value to its code (as serving's catalog filters build them).
    """
    out = np.zeros(n_items, dtype=np.float32)
    touched = False
    for column, weights in boosts.items():
        if column not in codes:
            continue
        table = np.zeros(len(lookups[column]) + 1, dtype=np.float32)  # last slot: unknown (-1)
        for value, weight in weights.items():
            code = lookups[column].get(value.strip().casefold())
            if code is not None:
                table[code] += weight
                touched = True
        out += table[codes[column]]
    return out if touched else None


def apply_boosts(scores: np.ndarray, boost: np.ndarray | None) -> np.ndarray:
    """Scores standardized per row plus the boost, in place where possible; -inf stays -inf."""
    if boost is None:
        return scores
    finite = np.isfinite(scores)
    masked = np.where(finite, scores, np.nan)
    mean = np.nanmean(masked, axis=1, keepdims=True)
    std = np.nanstd(masked, axis=1, keepdims=True)
    out = (scores - mean) / np.where(std > 0, std, 1.0) + boost[None, :]
    out[~finite] = -np.inf
    return out.astype(np.float32, copy=False)


def cap_per_group(
    ids: np.ndarray, scores: np.ndarray, groups: np.ndarray, max_per_group: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_per_group`` items per group (e.g. brand) in each ranked row, then top k.

    ``ids``/``scores`` are ranked candidate lists (best first, -1 padding), longer than ``k`` so
    that capped items can be replaced. Items without a group (-1) are never capped.
    """
    n, m = ids.shape
    group = np.where(ids >= 0, groups[np.maximum(ids, 0)], -1)
    rows = np.repeat(np.arange(n), m)
    flat = group.ravel()
    order = np.lexsort((np.tile(np.arange(m), n), flat, rows))  # by row, group, rank
    sorted_keys = np.stack([rows[order], flat[order]])
    start = np.ones(order.size, dtype=bool)
    start[1:] = (sorted_keys[:, 1:] != sorted_keys[:, :-1]).any(axis=0)
    run_start = np.maximum.accumulate(np.where(start, np.arange(order.size), 0))
    seen_before = np.empty(order.size, dtype=np.int64)
    seen_before[order] = np.arange(order.size) - run_start
    keep = (seen_before.reshape(n, m) < max_per_group) | (group < 0)
    keep &= ids >= 0
    # stable compaction of kept entries to the front of each row
    pos = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    out_ids = np.take_along_axis(ids, pos, axis=1)
    out_scores = np.take_along_axis(scores, pos, axis=1)
    kept = np.take_along_axis(keep, pos, axis=1)
    out_ids = np.where(kept, out_ids, -1).astype(np.int32)
    out_scores = np.where(kept, out_scores, -np.inf).astype(np.float32)
    if out_ids.shape[1] < k:
        pad = k - out_ids.shape[1]
        out_ids = np.pad(out_ids, ((0, 0), (0, pad)), constant_values=-1)
        out_scores = np.pad(out_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return out_ids, out_scores
