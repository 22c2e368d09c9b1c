"""From score rows to ranked lists: exclusions, catalog masks and business rules, all vectorised.

One path for every list the API answers (personal, batch, fallback and popular), so hidden,
deleted and out-of-stock items, brand caps and boosts behave the same everywhere. Every step
is an array operation over precomputed masks (:mod:`nextbuy.serving.catalog`); the only
Python work per answer is building its k response items.
"""

from __future__ import annotations

import numpy as np

from nextbuy.retrieval import topk
from nextbuy.rules import apply_boosts, cap_per_group
from nextbuy.serving.catalog import item_indices
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.scoring import Resolved
from nextbuy.serving.snapshot import Snapshot

#: (row position, item index) entries to rule out of a block of score rows.
#: Score blocks are ranked in one top-k call (``block=`` the rows): a batch chunk is at most
#: ``recommending.BATCH_CHUNK`` rows, and one large argpartition measured faster here than
#: retrieval's cache-sized blocks (which suit the models' 1,024-row evaluation batches).
Pairs = tuple[np.ndarray, np.ndarray]


# ---------------------------------------------------------------------- exclusions
def excluded_items(snapshot: Snapshot, options: RecommendOptions) -> np.ndarray | None:
    """Indices of the request's ``exclude_item_ids`` that exist (None when there are none)."""
    if not options.exclude_item_ids:
        return None
    idx = item_indices(snapshot, list(options.exclude_item_ids))
    idx = idx[idx >= 0]
    return idx if len(idx) else None


def seen_pairs(snapshot: Snapshot, users: np.ndarray) -> Pairs:
    """The training items of trained ``users`` as pairs (row position, item), minus items of
    repurchasable categories; vectorised, without scipy indexing."""
    starts = snapshot.seen_indptr[users]
    lengths = snapshot.seen_indptr[users + 1] - starts
    total = int(lengths.sum())
    rows = np.repeat(np.arange(len(users)), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    items = snapshot.seen_indices[np.repeat(starts, lengths) + offsets]
    keep = _not_repurchasable(snapshot, items)
    return (rows, items) if keep is None else (rows[keep], items[keep])


def seen_items(snapshot: Snapshot, user: int) -> np.ndarray:
    """:func:`seen_pairs` of one trained user: its training items (one slice, no pairs)."""
    items = snapshot.seen_indices[snapshot.seen_indptr[user] : snapshot.seen_indptr[user + 1]]
    keep = _not_repurchasable(snapshot, items)
    return items if keep is None else items[keep]


def history_exclusions(
    snapshot: Snapshot, resolved: Resolved, options: RecommendOptions
) -> np.ndarray:
    """Items one user's history rules out: everything seen (``exclude_seen``), else purchases
    (the ``exclude_purchased`` rule), never items of repurchasable categories."""
    live = snapshot.live
    if options.exclude_seen:
        idx = resolved.seen
    elif live is not None and live.rules.exclude_purchased:
        idx = resolved.purchased
    else:
        return np.empty(0, dtype=np.int64)
    keep = _not_repurchasable(snapshot, idx)
    return idx if keep is None else idx[keep]


def _not_repurchasable(snapshot: Snapshot, items: np.ndarray) -> np.ndarray | None:
    """Mask of ``items`` outside the repurchasable categories (None: all of them are)."""
    live = snapshot.live
    if live is None or live.repurchasable is None or len(items) == 0:
        return None
    return ~live.repurchasable[items]


# ---------------------------------------------------------------------- ranking
def rank(
    snapshot: Snapshot,
    scores: np.ndarray,
    options: RecommendOptions,
    k: int,
    pairs: Pairs | None = None,
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
    live = snapshot.live
    blocked = None if live is None else live.blocked_for(options.any_stock)
    for idx in (excluded_items(snapshot, options), blocked):
        if idx is not None and len(idx):
            if row is not None:
                row[idx] = -np.inf
            else:
                scores[:, idx] = -np.inf
    allowed = snapshot.filters.allowed(options.categories, options.brands, options.in_stock_only)
    candidates = None if allowed is None else np.flatnonzero(allowed)
    # Rank only the allowed items: a row that is mostly -inf slows argpartition 10x.
    work = scores if candidates is None else scores[:, candidates]
    boost = None if live is None else live.boost
    cap = None if live is None else live.rules.max_per_brand
    if boost is None and cap is None:  # the common case: the top-k of the model's scores
        ids, vals = topk(work, k, block=len(work))
        valid = np.isfinite(vals)
        ids = np.where(valid, ids, -1)
    else:
        ranked = work
        if boost is not None:
            ranked = _boosted(work, boost if candidates is None else boost[candidates])
        brands = None
        if cap is not None:
            brands = snapshot.filters.brand_codes
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
        ids, vals = topk(ranked, width, block=len(ranked))
        ids = np.where(np.isfinite(vals), ids, -1)
        if cap is None or groups is None:
            return ids[:, :k].astype(np.int64)
        capped, _ = cap_per_group(ids, vals, groups, cap, k)
        short = (capped >= 0).sum(axis=1) < k
        exhausted = (ids < 0).any(axis=1)  # the prefix already holds every finite item
        if width >= n or not (short & ~exhausted).any():
            return capped.astype(np.int64)
        width = min(n, width * 4)


def popular(
    snapshot: Snapshot, options: RecommendOptions, k: int, history: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most popular items passing the filters and rules (the fallback list).

    ``history`` holds items to leave out for this user (events of a user the model does not
    know). Without boosts or a brand cap this walks the precomputed popularity order.
    """
    live = snapshot.live
    excluded = excluded_items(snapshot, options)
    if history is not None and len(history):
        excluded = history if excluded is None else np.concatenate([excluded, history])
    if live is None:
        order = snapshot.popular_order
    else:
        order = live.popular_any_stock if options.any_stock else live.popular_default
    allowed = snapshot.filters.allowed(options.categories, options.brands, options.in_stock_only)
    if allowed is not None:
        order = order[allowed[order]]
    if live is not None and (live.boost is not None or live.rules.max_per_brand is not None):
        if excluded is not None:
            order = order[~np.isin(order, excluded)]
        row = np.full((1, len(snapshot.item_ids)), -np.inf, dtype=np.float32)
        row[0, order] = snapshot.popularity[order]
        # filters are in ``order`` already
        ids, vals = rank(snapshot, row, options.without_filters(), k)
        keep = ids[0] >= 0
        return ids[0][keep], vals[0][keep]
    if excluded is not None:
        head = order[: k + len(excluded)]
        order = head[~np.isin(head, excluded)]
    ids = order[:k]
    return ids, snapshot.popularity[ids]
