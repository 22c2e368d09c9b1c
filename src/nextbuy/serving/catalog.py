"""The live catalog: stock, visibility and new items layered on a served model's trained items.

Catalog changes never mutate arrays a request may be reading: :func:`apply_catalog` builds a
new :class:`~nextbuy.serving.snapshot.Snapshot` (``dataclasses.replace``) whose item arrays
are extended copies, and the service swaps one reference, exactly as a reload does.

Items are indexed ``0 .. n_trained - 1`` as in the model, then new items (added after training)
in the order they arrived. New items are scored from their attributes with the artifact's
:class:`~nextbuy.coldstart.AttributeRidge`: each new item is an affine combination ``a`` of the
trained items (rows of ``new_weights``), and since every model's scores are linear in its item
columns, ``score(u, new) = scores(u, :) @ a``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nextbuy.data.catalog import ITEM_FIELDS
from nextbuy.rules import boost_vector
from nextbuy.serving.errors import UnknownItemError
from nextbuy.serving.filters import CatalogFilters, match_key
from nextbuy.serving.live import LiveCatalog, Rules
from nextbuy.serving.snapshot import Snapshot

if TYPE_CHECKING:
    from nextbuy.coldstart import AttributeRidge

logger = logging.getLogger("nextbuy.serving")


def item_index(snapshot: Snapshot, item_id: str) -> int:
    """Index of a trained or new item, -1 when neither."""
    i = snapshot.artifact.item_map.index_of(item_id)
    if i >= 0 or snapshot.live is None:
        return i
    return snapshot.live.new_index.get(item_id, -1)


def require_item(snapshot: Snapshot, item_id: str) -> int:
    """Index of a trained or new item; unknown IDs raise :class:`UnknownItemError` (404)."""
    i = item_index(snapshot, item_id)
    if i < 0:
        raise UnknownItemError(item_id)
    return i


def item_indices(snapshot: Snapshot, item_ids: Sequence[str]) -> np.ndarray:
    """Indices of trained or new items (int64, -1 where unknown), vectorised over trained ones."""
    if not item_ids:
        return np.empty(0, dtype=np.int64)
    idx = snapshot.artifact.item_map.index(list(item_ids)).astype(np.int64)
    live = snapshot.live
    if live is not None and live.new_index:
        missing = np.flatnonzero(idx < 0)
        if len(missing):  # only the IDs the model does not know go through the dict
            lookup = live.new_index.get
            idx[missing] = [lookup(item_ids[j], -1) for j in missing.tolist()]
    return idx


def extend_scores(snapshot: Snapshot, block: np.ndarray) -> np.ndarray:
    """Score rows over trained items -> rows over every item (new items from their weights)."""
    live = snapshot.live
    if live is None or live.n_new == 0:
        return block
    n = live.n_trained
    out = np.empty((block.shape[0], n + live.n_new), dtype=np.float32)
    out[:, :n] = block
    if live.new_weights is not None:
        out[:, n:] = block @ live.new_weights.T
        out[:, n:][:, ~live.scorable] = -np.inf
    else:
        out[:, n:] = -np.inf
    return out


def attach_catalog(
    snapshot: Snapshot, rules: Rules, stored_rows: Iterable[Mapping[str, Any]] = ()
) -> Snapshot:
    """A fresh model snapshot with the rules and the event store's catalog rows applied."""
    live = _initial(snapshot, rules)
    snapshot = dataclasses.replace(snapshot, live=live)
    return apply_catalog(snapshot, list(stored_rows), force=True)


def apply_catalog(
    snapshot: Snapshot, rows: Sequence[Mapping[str, Any]], force: bool = False
) -> Snapshot:
    """A new snapshot with catalog rows (as the store holds them) applied (``snapshot`` stays).

    A field that is null in a row keeps the trained catalog's value, so a partial update of a
    trained item never erases what the model's catalog knew. Unknown IDs become new items.
    """
    live = snapshot.live
    assert live is not None, "attach_catalog first"
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:  # the last row of an item wins
        latest[str(row["item_id"])] = row
    if not latest and not force:
        return snapshot
    n = live.n_trained
    ids = list(latest)
    idx = item_indices(snapshot, ids)
    fresh = [item_id for item_id, i in zip(ids, idx.tolist(), strict=True) if i < 0]
    n_before = len(snapshot.item_ids)
    n_fresh = len(fresh)
    positions = idx.copy()
    positions[idx < 0] = np.arange(n_before, n_before + n_fresh)

    # ---- extended copies of every per-item array (readers keep the old ones)
    f = snapshot.filters
    grow = np.zeros(n_fresh, dtype=bool)
    item_ids = np.concatenate([snapshot.item_ids, np.asarray(fresh, dtype=object)])
    item_info = list(snapshot.item_info) + [dict.fromkeys(ITEM_FIELDS)] * n_fresh
    cat_codes = np.concatenate([f.category_codes, np.full(n_fresh, -1, np.int32)])
    brand_codes = np.concatenate([f.brand_codes, np.full(n_fresh, -1, np.int32)])
    cat_lookup, brand_lookup = dict(f.category_lookup), dict(f.brand_lookup)
    stock = f.in_stock if f.in_stock is not None else np.ones(n_before, dtype=bool)
    in_stock = np.concatenate([stock, ~grow])
    hidden = np.concatenate([live.hidden, grow])
    deleted = np.concatenate([live.deleted, grow])

    moved: list[int] = []  # new items whose attributes are new or changed
    for item_id, i in zip(ids, positions.tolist(), strict=True):  # changed rows only
        row = latest[item_id]
        base = live.base_info[i] if i < n else {}
        info = {k: _value(row.get(k), base.get(k), k) for k in ITEM_FIELDS}
        if i >= n and (i >= n_before or info != snapshot.item_info[i]):
            moved.append(i - n)
        item_info[i] = info
        cat_codes[i] = _code(cat_lookup, info["category"])
        brand_codes[i] = _code(brand_lookup, info["brand"])
        in_stock[i] = _flag(row.get("in_stock"), True)
        deleted[i] = _flag(row.get("deleted"), False)
        hidden[i] = _flag(row.get("hidden"), False) or deleted[i]

    new_ids = live.new_ids + tuple(fresh)
    new_index = live.new_index
    if fresh:
        new_index = {**new_index, **{item_id: n_before + j for j, item_id in enumerate(fresh)}}
    attributes = live.attributes
    if moved and attributes is None:
        attributes = _fit_attributes(snapshot)
    weights, buffer, unit, scorable = _new_item_vectors(
        snapshot, live, attributes, item_info, len(new_ids), sorted(set(moved))
    )

    # ---- masks, orders and rules over every item
    n_total = n + len(new_ids)
    unscorable = np.zeros(n_total, dtype=bool)
    unscorable[n:] = ~scorable
    never = hidden | unscorable
    blocked = np.flatnonzero(never).astype(np.int32)
    blocked_stock = np.flatnonzero(never | ~in_stock).astype(np.int32)
    popular_order = np.concatenate(
        [snapshot.popular_order, np.arange(n_before, n_total, dtype=np.int32)]
    )
    popular_rank = np.concatenate(
        [snapshot.popular_rank, np.arange(n_before + 1, n_total + 1, dtype=np.int32)]
    )
    rules = live.rules
    codes = {"category": cat_codes, "brand": brand_codes}
    lookups = {"category": cat_lookup, "brand": brand_lookup}
    boost = boost_vector(codes, lookups, rules.boosts, n_total) if rules.boosts else None
    repurchasable = None
    if rules.repurchasable_categories:
        wanted = [cat_lookup[c] for c in rules.repurchasable_categories if c in cat_lookup]
        repurchasable = np.isin(cat_codes, np.asarray(wanted, dtype=np.int32))
    new_live = LiveCatalog(
        version=live.version + 1,
        n_trained=n,
        rules=rules,
        base_info=live.base_info,
        new_ids=new_ids,
        new_index=new_index,
        new_weights=weights,
        new_unit=unit,
        scorable=scorable,
        hidden=hidden,
        deleted=deleted,
        blocked=blocked,
        blocked_stock=blocked_stock,
        popular_default=popular_order[~np.isin(popular_order, blocked_stock)],
        popular_any_stock=popular_order[~np.isin(popular_order, blocked)],
        repurchasable=repurchasable,
        boost=boost,
        stored={**live.stored, **{k: dict(v) for k, v in latest.items()}},
        attributes=attributes,
        weights_buffer=buffer,
    )
    filters = CatalogFilters(n_total, cat_codes, cat_lookup, brand_codes, brand_lookup, in_stock)
    zeros = np.zeros(n_fresh)
    return dataclasses.replace(
        snapshot,
        item_ids=item_ids,
        item_info=item_info,
        filters=filters,
        counts=np.concatenate([snapshot.counts, zeros.astype(np.int64)]),
        popularity=np.concatenate([snapshot.popularity, zeros.astype(np.float32)]),
        popular_order=popular_order,
        popular_rank=popular_rank,
        live=new_live,
    )


# ---------------------------------------------------------------------- helpers
def _initial(snapshot: Snapshot, rules: Rules) -> LiveCatalog:
    """The live layer of a freshly loaded model: trained items only, nothing changed yet."""
    n = snapshot.n_items
    none = np.zeros(n, dtype=bool)
    empty = np.empty(0, dtype=np.int32)
    return LiveCatalog(
        version=0,
        n_trained=n,
        rules=rules,
        base_info=snapshot.item_info,
        new_ids=(),
        new_index={},
        new_weights=None,
        new_unit=None,
        scorable=np.zeros(0, dtype=bool),
        hidden=none,
        deleted=none,
        blocked=empty,
        blocked_stock=empty,
        popular_default=snapshot.popular_order,
        popular_any_stock=snapshot.popular_order,
        repurchasable=None,
        boost=None,
        stored={},
        attributes=snapshot.artifact.attributes,
    )


def _value(new: Any, base: Any, name: str) -> Any:
    """A field of an answer: the store's value when set, else the trained catalog's."""
    value = base if new is None else new
    if value is None:
        return None
    if name == "price":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if np.isfinite(number) else None
    return str(value)


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def _code(lookup: dict[str, int], value: str | None) -> int:
    """Code of a category or brand value, adding it to ``lookup`` (a private copy) if new."""
    if value is None or not value.strip():
        return -1
    key = match_key(value)
    code = lookup.get(key)
    if code is None:
        code = lookup[key] = len(lookup)
    return code


def _fit_attributes(snapshot: Snapshot) -> AttributeRidge | None:
    """Fit the new-item model on the served catalog when the artifact has none (older models)."""
    from nextbuy.coldstart import AttributeRidge, has_attributes

    catalog = snapshot.artifact.catalog
    if catalog is None or len(catalog) != snapshot.n_items or not has_attributes(catalog):
        return None
    logger.info("fitting the new-item attribute model on the served catalog")
    return AttributeRidge.fit(catalog)


def _new_item_vectors(
    snapshot: Snapshot,
    live: LiveCatalog,
    attributes: AttributeRidge | None,
    item_info: list[dict[str, Any]],
    n_new: int,
    moved: list[int],
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(weights, buffer, unit vectors, scorable) of the new items after ``moved`` changed.

    Weight rows live in a buffer with spare rows: appending writes only rows no snapshot
    reads, so adding items costs O(rows added), not a copy of every new item's row.
    """
    n = live.n_trained
    scorable = np.concatenate([live.scorable, np.zeros(n_new - live.n_new, dtype=bool)])
    if n_new == 0 or attributes is None or attributes.n_items != n:
        return live.new_weights, live.weights_buffer, live.new_unit, scorable
    buffer = live.weights_buffer
    rewrites = any(j < live.n_new for j in moved)
    if buffer is None or len(buffer) < n_new or rewrites:
        capacity = 0 if buffer is None else len(buffer)
        if capacity < n_new:  # grow geometrically; a rewrite alone copies at the same size
            capacity = max(16, n_new, 2 * capacity)
        grown = np.zeros((capacity, n), dtype=np.float32)
        if live.new_weights is not None:
            grown[: live.n_new] = live.new_weights
        buffer = grown
    if moved:
        frame = pd.DataFrame([item_info[n + j] for j in moved], columns=list(ITEM_FIELDS))
        frame = frame.fillna({"name": "", "brand": "", "category": ""})
        buffer[moved] = attributes.weights(frame)
        scorable[moved] = True
    weights = buffer[:n_new]
    unit = live.new_unit
    if snapshot.unit_vectors is not None:
        vectors = np.asarray(snapshot.model.item_vectors(), dtype=np.float32)
        old = 0 if unit is None or rewrites else len(unit)
        part = weights[old:] @ vectors
        part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
        unit = part if old == 0 else np.concatenate([unit, part])  # type: ignore[list-item]
    return weights, buffer, unit, scorable
