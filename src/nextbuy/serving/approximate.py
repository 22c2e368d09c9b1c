"""Approximate retrieval for factor models: ``--retrieval exact|ann|auto`` at serving time.

With an index attached (:func:`attach_retrieval`), a personal recommendation is answered from
the index's candidates instead of a score row over the whole catalog: the user's vector (from
training or folded in from events) is searched with every filter, hidden, deleted and
out-of-stock item left out by a bitmap, the history and the request's exclusions are
over-fetched then removed, new items are scored exactly and merged, and the brand cap is
applied to the candidates. :func:`recommend` answers None whenever the exact path must run:
score boosts (they standardise over the whole row), users without a vector, a filter keeping
few items (exact over those is cheaper), or fewer than k answers found.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from nextbuy.ann import DEFAULT_NPROBE, AnnIndex, load_or_build
from nextbuy.serving import ranking
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.snapshot import Snapshot

logger = logging.getLogger("nextbuy.serving")

Retrieval = Literal["exact", "ann", "auto"]
#: ``auto`` uses the index from this many trained items up. Below it, exact scoring of one
#: user (read every vector, top-k) costs under about 1 ms here (20,000 x 64: ~0.2 ms) and
#: answers exactly; above it, the exact cost grows with the catalog (1M items: tens of ms,
#: 256 MB read per user) while the index's stays near a millisecond (``benchmarks/ann.py``).
AUTO_MIN_ITEMS = 200_000
#: A filter keeping at most this many items is ranked exactly over those items (gathering
#: their vectors costs less than a bitmap search over most lists).
EXACT_MAX_CANDIDATES = 2_000


@dataclass(eq=False)
class Retriever:
    """An ANN index over a factor model's items in dot-product form, plus per-snapshot caches."""

    index: AnnIndex
    form: Any  # nextbuy.models.factor.DotProductForm
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _masks: dict[int, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)
    _new: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def items(self) -> np.ndarray:
        return np.asarray(self.form.items)

    def unblocked(self, blocked: np.ndarray) -> np.ndarray | None:
        """Bool mask over trained items without ``blocked`` (cached per blocked array)."""
        hit = self._masks.get(id(blocked))
        if hit is not None and hit[0] is blocked:
            return hit[1]
        trained = blocked[blocked < self.index.n]
        mask = None
        if len(trained):
            mask = np.ones(self.index.n, dtype=bool)
            mask[trained] = False
        with self._lock:
            if len(self._masks) > 8:
                self._masks.clear()
            self._masks[id(blocked)] = (blocked, mask)
        return mask

    def new_vectors(self, weights: np.ndarray) -> np.ndarray:
        """New items' vectors in dot-product form (their weights over trained items, applied)."""
        hit = self._new
        if hit is not None and hit[0] is weights:
            return hit[1]
        vectors = np.asarray(weights, dtype=np.float32) @ self.items
        self._new = (weights, vectors)
        return vectors


def attach_retrieval(
    snapshot: Snapshot, mode: Retrieval = "exact", nprobe: int = DEFAULT_NPROBE
) -> Snapshot:
    """``snapshot`` with an ANN retriever when ``mode`` asks for one and the model allows it.

    ``ann`` on a model without item factors logs why and serves exactly; ``auto`` attaches
    an index from :data:`AUTO_MIN_ITEMS` trained items up. The index is cached in the version
    folder (``ann/``, checksummed) and rebuilt when missing, stale or corrupted.
    """
    if mode == "exact" or (mode == "auto" and snapshot.n_items < AUTO_MIN_ITEMS):
        return snapshot
    form_of = getattr(snapshot.model, "dot_product_form", None)
    if form_of is None:
        logger.warning(
            "--retrieval %s: model %s has no item factors; serving exactly", mode, snapshot.name
        )
        return snapshot
    form = form_of()
    index = load_or_build(snapshot.artifact.path, form.items, nprobe)
    logger.info(
        "ANN index %s: %d items, %d lists, nprobe %d (%.1f s)",
        index.loaded_from,
        index.n,
        index.nlist,
        index.nprobe,
        index.build_seconds,
    )
    return dataclasses.replace(snapshot, retriever=Retriever(index, form))


def query_vector(snapshot: Snapshot, user: int, row: Any) -> np.ndarray | None:
    """The user's vector in dot-product form (None: the model scores them by popularity)."""
    retriever: Retriever = snapshot.retriever
    if row is None:
        vectors, fallback = retriever.form.users(np.array([user], dtype=np.int64))
    else:
        if retriever.form.histories is None:
            return None
        vectors, fallback = retriever.form.histories(row)
    return None if bool(fallback[0]) else np.asarray(vectors[0], dtype=np.float32)


def recommend(
    snapshot: Snapshot,
    user: int,
    row: Any,
    exclude: np.ndarray | None,
    options: RecommendOptions,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The top ``options.k`` ``(ids, scores)`` of one user from the index, or None for exact.

    ``row`` is the user's history row when they have events since training (else None: the
    trained vector); ``exclude`` the item indices their history rules out.
    """
    retriever: Retriever | None = snapshot.retriever
    live = snapshot.live
    if retriever is None or (live is not None and live.boost is not None):
        return None
    k = min(options.k, snapshot.n_total)
    query = query_vector(snapshot, user, row)
    if query is None or k <= 0:
        return None
    n = retriever.index.n
    allowed = snapshot.filters.allowed(options.categories, options.brands, options.in_stock_only)
    blocked = None if live is None else live.blocked_for(options.any_stock)
    unblocked = None if blocked is None else retriever.unblocked(blocked)
    mask = None if allowed is None else allowed[:n]
    if unblocked is not None:
        mask = unblocked if mask is None else mask & unblocked
    dropped = _dropped(snapshot, exclude, options)
    cap = None if live is None else live.rules.max_per_brand
    want = k + len(dropped) + (k + 32 if cap is not None else 0)
    if mask is not None and np.count_nonzero(mask) <= max(EXACT_MAX_CANDIDATES, want):
        ids = np.flatnonzero(mask)
        vals = retriever.items[ids] @ query
    else:
        found, scores = retriever.index.search(query, want, mask)
        keep = found[0] >= 0
        ids, vals = found[0][keep], scores[0][keep]
    if live is not None and live.n_new and live.new_weights is not None:
        new_ids, new_vals = _new_items(snapshot, retriever, query, allowed, blocked)
        ids, vals = np.concatenate([ids, new_ids]), np.concatenate([vals, new_vals])
    if len(dropped):
        keep = ~np.isin(ids, dropped)
        ids, vals = ids[keep], vals[keep]
    vals = np.asarray(vals, dtype=np.float32)
    brands = None if cap is None else snapshot.filters.brand_codes[ids]
    top = ranking.top_ids(vals[None, :], k, brands, cap)[0]
    top = top[top >= 0]
    if len(top) < k:  # fewer than k found: the exact path decides what exists
        return None
    return ids[top].astype(np.int64), vals[top]


def _dropped(
    snapshot: Snapshot, exclude: np.ndarray | None, options: RecommendOptions
) -> np.ndarray:
    """Item indices removed from the candidates: the history's and the request's exclusions."""
    parts = [p for p in (exclude, ranking.excluded_items(snapshot, options)) if p is not None]
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])


def _new_items(
    snapshot: Snapshot,
    retriever: Retriever,
    query: np.ndarray,
    allowed: np.ndarray | None,
    blocked: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """New items passing the filters, scored exactly from their weights: ``(ids, scores)``."""
    live = snapshot.live
    assert live is not None and live.new_weights is not None
    n = live.n_trained
    ok = np.asarray(live.scorable, dtype=bool).copy()
    if allowed is not None:
        ok &= allowed[n:]
    if blocked is not None:
        gone = blocked[blocked >= n] - n
        ok[gone] = False
    ids = np.flatnonzero(ok)
    vals = retriever.new_vectors(live.new_weights)[ids] @ query
    return (ids + n).astype(np.int64), vals.astype(np.float32)
