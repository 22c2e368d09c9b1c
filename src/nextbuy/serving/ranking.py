"""From score rows to ranked lists: exclusions, catalog masks and business rules, all vectorised.

One path for every list the API answers (personal, batch, fallback and popular), so hidden,
deleted and out-of-stock items, brand caps and boosts behave the same everywhere. Every step
is an array operation over precomputed masks (:mod:`nextbuy.serving.catalog`); the only
Python work per answer is building its k response items.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from nextbuy.rules import apply_boosts, cap_per_group
from nextbuy.serving.catalog import item_indices

if TYPE_CHECKING:
    from nextbuy.serving.history import Resolved
    from nextbuy.serving.service import ModelState, Options


def excluded_items(state: ModelState, options: Options) -> np.ndarray | None:
    """Indices of the request's ``exclude_item_ids`` that exist (None when there are none)."""
    if not options.exclude_item_ids:
        return None
    idx = item_indices(state, list(options.exclude_item_ids))
    idx = idx[idx >= 0]
    return idx if len(idx) else None


def history_exclusions(state: ModelState, resolved: Resolved, options: Options) -> np.ndarray:
    """Items one user's history rules out: everything seen (``exclude_seen``), else purchases
    (the ``exclude_purchased`` rule), never items of repurchasable categories."""
    live = state.live
    if options.exclude_seen:
        idx = resolved.seen
    elif live is not None and live.rules.exclude_purchased:
        idx = resolved.purchased
    else:
        return np.empty(0, dtype=np.int64)
    return without_repurchasable(state, idx)


def without_repurchasable(state: ModelState, idx: np.ndarray) -> np.ndarray:
    """``idx`` minus the items of repurchasable categories."""
    live = state.live
    if live is None or live.repurchasable is None or len(idx) == 0:
        return idx
    return idx[~live.repurchasable[idx]]


def rank(
    state: ModelState,
    scores: np.ndarray,
    options: Options,
    k: int,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of each row of ``scores`` (overwritten) after every exclusion and rule.

    ``scores`` has one column per item (trained then new); ``pairs`` are (row, item) entries
    to rule out (each user's history). Returns ``(ids, scores)`` with ``-1`` / ``-inf``
    padding; the scores are the model's, while the order follows the boosted scores.
    """
    # one row (every /recommend) is masked through its 1-D view: 2-D fancy indexing costs more
    row = scores[0] if scores.shape[0] == 1 else None
    if pairs is not None and len(pairs[0]):
        if row is not None:
            row[pairs[1]] = -np.inf
        else:
            scores[pairs] = -np.inf
    excluded = excluded_items(state, options)
    live = state.live
    blocked = None
    if live is not None:
        blocked = live.blocked if _any_stock(options) else live.blocked_stock
    for idx in (excluded, blocked):
        if idx is not None and len(idx):
            if row is not None:
                row[idx] = -np.inf
            else:
                scores[:, idx] = -np.inf
    allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
    candidates = None if allowed is None else np.flatnonzero(allowed)
    # Rank only the allowed items: a row that is mostly -inf slows argpartition 10x.
    work = scores if candidates is None else scores[:, candidates]
    boost = None if live is None else live.boost
    cap = None if live is None else live.rules.max_per_brand
    if boost is None and cap is None:  # the common case: the top-k of the model's scores
        ids, vals = _top(work, min(k, work.shape[1]))
        valid = np.isfinite(vals)
        ids = np.where(valid, ids, -1)
    else:
        ranked = work
        if boost is not None:
            ranked = _boosted(work, boost if candidates is None else boost[candidates])
        brands = None
        if cap is not None:
            brands = state.filters.brand_codes
            brands = brands if candidates is None else brands[candidates]
        ids = top_ids(ranked, k, brands, cap)
        valid = ids >= 0
        vals = np.take_along_axis(work, np.where(valid, ids, 0), axis=1)
        vals = np.where(valid, vals, -np.inf).astype(np.float32)
    if candidates is not None:
        ids = np.where(valid, candidates[np.where(valid, ids, 0)], -1)
    return ids, vals


def _boosted(scores: np.ndarray, boost: np.ndarray) -> np.ndarray:
    """:func:`nextbuy.rules.apply_boosts` on the rows that have a finite score (an all -inf
    row has nothing to standardise, and numpy would warn about it)."""
    alive = np.isfinite(scores).any(axis=1)
    if alive.all():
        return apply_boosts(scores, boost)
    out = scores.copy()
    if alive.any():
        out[alive] = apply_boosts(scores[alive], boost)
    return out


def top_ids(
    ranked: np.ndarray, k: int, groups: np.ndarray | None = None, cap: int | None = None
) -> np.ndarray:
    """Row-wise indices of the ``k`` best finite entries (-1 padded), at most ``cap`` per group.

    With a cap, a longer ranked prefix is taken and capped (:func:`nextbuy.rules.cap_per_group`),
    widening it only when the cap left a row short and more items remain.
    """
    n_rows, n = ranked.shape
    k = min(k, n)
    if k <= 0:
        return np.full((n_rows, max(k, 0)), -1, dtype=np.int64)
    width = k if cap is None else min(n, 2 * k + 32)
    while True:
        ids, vals = _top(ranked, width)
        ids = np.where(np.isfinite(vals), ids, -1)
        if cap is None or groups is None:
            return ids[:, :k]
        capped, _ = cap_per_group(ids, vals, groups, cap, k)
        short = (capped >= 0).sum(axis=1) < k
        exhausted = (ids < 0).any(axis=1)  # the prefix already holds every finite item
        if width >= n or not (short & ~exhausted).any():
            return capped.astype(np.int64)
        width = min(n, width * 4)


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k, best first (argpartition at n - k, then a sort of the k kept)."""
    n = scores.shape[1]
    if scores.shape[0] == 1 and k > 0:  # 1-D calls: a fifth faster than axis=1 on one row
        row = scores[0]
        top = np.argpartition(row, n - k)[n - k :] if k < n else np.arange(n)
        vals = row[top]
        order = np.argsort(-vals, kind="stable")
        return top[order][None, :], vals[order][None, :]
    if k < n:
        part = np.argpartition(scores, n - k, axis=1)[:, n - k :]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape)
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def popular(
    state: ModelState, options: Options, k: int, history: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most popular items passing the filters and rules (the fallback list).

    ``history`` holds items to leave out for this user (events of a user the model does not
    know). Without boosts or a brand cap this walks the precomputed popularity order.
    """
    live = state.live
    excluded = excluded_items(state, options)
    if history is not None and len(history):
        excluded = history if excluded is None else np.concatenate([excluded, history])
    if live is None:
        order = state.popular_order
    else:
        order = live.popular_any_stock if _any_stock(options) else live.popular_default
    allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
    if allowed is not None:
        order = order[allowed[order]]
    if live is not None and (live.boost is not None or live.rules.max_per_brand is not None):
        if excluded is not None:
            order = order[~np.isin(order, excluded)]
        row = np.full((1, len(state.item_ids)), -np.inf, dtype=np.float32)
        row[0, order] = state.popularity[order]
        unfiltered = dataclasses.replace(options, exclude_item_ids=(), categories=None, brands=None)
        ids, vals = rank(state, row, unfiltered, k)  # filters are in ``order`` already
        keep = ids[0] >= 0
        return ids[0][keep], vals[0][keep]
    if excluded is not None:
        head = order[: k + len(excluded)]
        order = head[~np.isin(head, excluded)]
    ids = order[:k]
    return ids, state.popularity[ids]


def _any_stock(options: Options) -> bool:
    """True when the request wants out-of-stock items too (and did not ask for in-stock only)."""
    return bool(getattr(options, "include_out_of_stock", False)) and not options.in_stock_only
