"""Similar items: cosine of item vectors, the model's own similarity, or new items' attributes."""

from __future__ import annotations

from typing import Any

import numpy as np

from nextbuy.errors import UnsupportedOperation
from nextbuy.retrieval import topk
from nextbuy.serving import answers
from nextbuy.serving.catalog import require_item
from nextbuy.serving.errors import NoSimilarityError
from nextbuy.serving.snapshot import Snapshot

#: Why a new item has no similar items: nothing places it among the trained ones yet.
UNPLACED_NOTE = (
    "{item!r} was added after training and {model} has no attribute model to place it by "
    "(train with --items CATALOG holding category, brand, name or price); it gets similar "
    "items once the model is retrained on its interactions"
)


def has_vector(snapshot: Snapshot, i: int) -> bool:
    """True when item ``i`` is answered by cosine: a vector model, and a trained item or a
    placed new one (its predicted vector)."""
    n, live = snapshot.n_items, snapshot.live
    if snapshot.unit_vectors is None:
        return False
    if i < n:
        return True
    return live is not None and live.new_unit is not None and bool(live.scorable[i - n])


def cosine_rows(snapshot: Snapshot, items: np.ndarray) -> np.ndarray:
    """Cosine of each of ``items`` (all :func:`has_vector`) with every trained item,
    ``[len(items), n_items]`` float32: one matrix product for many requests."""
    unit, n, live = snapshot.unit_vectors, snapshot.n_items, snapshot.live
    assert unit is not None
    items = np.asarray(items, dtype=np.int64)
    if (items < n).all():
        queries = unit[items]
    else:
        assert live is not None and live.new_unit is not None
        queries = np.where((items < n)[:, None], unit[np.minimum(items, n - 1)],
                           live.new_unit[np.maximum(items - n, 0)])  # fmt: skip
    return np.asarray(queries @ unit.T, dtype=np.float32)


def similar(
    snapshot: Snapshot,
    item_id: str,
    k: int,
    include_out_of_stock: bool = False,
    cosine: np.ndarray | None = None,
) -> dict[str, Any]:
    """Items most similar to ``item_id`` (``SimilarItemsResponse``).

    Unit vectors are precomputed at load, so a vector model answers with one matrix-vector
    product and a top-k (``cosine``: the item's row of :func:`cosine_rows`, computed already,
    for instance together with other requests'); models without vectors answer with their own
    ``similar_items``. New items take part through their predicted vectors (vector models),
    or, asked about themselves in a model without vectors, through their attribute weights
    over trained items. Hidden, deleted and (unless asked for) out-of-stock items are left out.
    """
    i = require_item(snapshot, item_id)
    n, live = snapshot.n_items, snapshot.live
    blocked = None if live is None else live.blocked_for(include_out_of_stock)
    if i >= n and live is not None and not live.scorable[i - n]:
        empty = np.empty(0, np.int64)
        answer = answers.similar(snapshot, item_id, "attributes", empty, empty.astype(np.float32))
        return {**answer, "note": UNPLACED_NOTE.format(item=item_id, model=snapshot.model.name)}
    new_unit = None if live is None else live.new_unit
    if snapshot.unit_vectors is not None and (i < n or new_unit is not None):
        kept = None if cosine is not None else from_table(snapshot, item_id, i, k, blocked)
        if kept is not None:
            return kept
        query = snapshot.unit_vectors[i] if i < n else new_unit[i - n]  # type: ignore[index]
        sims = cosine if cosine is not None else cosine_rows(snapshot, np.array([i]))[0]
        if snapshot.vector_off is not None:
            sims[snapshot.vector_off] = -np.inf
        if i < n:
            sims[i] = -np.inf
            if snapshot.neighbours is not None:  # the next request for i reads the table
                snapshot.neighbours.put(i, sims)
        if new_unit is not None and live is not None and live.n_new:
            sims = np.concatenate([sims, new_unit @ query])
        elif live is not None and live.n_new:  # new items without vectors: never similar
            sims = np.concatenate([sims, np.full(live.n_new, -np.inf, dtype=sims.dtype)])
        method = "cosine"
    elif i >= n and live is not None and live.new_weights is not None:
        sims = np.full(snapshot.n_total, -np.inf, dtype=np.float32)
        sims[:n] = live.new_weights[i - n]
        method = "attributes"
    else:  # item-kNN, EASE, popularity: the model's own item-item similarity
        return _model_similar(snapshot, item_id, i, k, blocked)
    sims = np.asarray(sims, dtype=np.float32)  # every branch above made a new array: masked here
    sims[i] = -np.inf
    if blocked is not None and len(blocked):
        sims[blocked] = -np.inf
    ids, vals = topk(sims[None, :], k)
    return answers.similar(snapshot, item_id, method, ids[0], vals[0])


def from_table(
    snapshot: Snapshot, item_id: str, i: int, k: int, blocked: np.ndarray | None
) -> dict[str, Any] | None:
    """The answer of trained item ``i`` from its kept neighbours (:mod:`.neighbours`), new items
    with vectors merged in; None when the table cannot answer it exactly."""
    table, n, live = snapshot.neighbours, snapshot.n_items, snapshot.live
    if table is None or i >= n:
        return None
    found = table.lookup(i, k, blocked)
    if found is None:
        return None
    ids, vals = found
    if live is not None and live.n_new and live.new_unit is not None:
        assert snapshot.unit_vectors is not None
        new = np.asarray(live.new_unit @ snapshot.unit_vectors[i], dtype=np.float32)
        if blocked is not None and len(blocked):
            new[blocked[blocked >= n] - n] = -np.inf
        top, best = topk(np.concatenate([vals, new])[None, :], k)
        ids = np.concatenate([ids, np.arange(n, n + live.n_new)])[top[0]]
        vals = best[0]
    return answers.similar(snapshot, item_id, "cosine", ids, vals)


def _model_similar(
    snapshot: Snapshot, item_id: str, i: int, k: int, blocked: np.ndarray | None
) -> dict[str, Any]:
    """The model's own ``similar_items``, asked for enough extra to drop blocked items."""
    extra = 0 if blocked is None else len(blocked)
    try:
        ids, vals = snapshot.model.similar_items(np.array([i], dtype=np.int64), k + extra)
    except UnsupportedOperation:
        raise NoSimilarityError(snapshot.model.name) from None
    keep = (ids[0] >= 0) & np.isfinite(vals[0])
    if blocked is not None and extra:
        keep &= ~np.isin(ids[0], blocked)
    return answers.similar(snapshot, item_id, "model", ids[0][keep][:k], vals[0][keep][:k])
