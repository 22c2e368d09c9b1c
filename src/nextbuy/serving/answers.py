"""Answer shaping: index and score arrays in, the JSON-ready dicts of the API out.

The dicts match the response models of :mod:`nextbuy.serving.schemas` field for field (a test
holds every route to them); routes send them through orjson without a second validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nextbuy.data.catalog import ITEM_FIELDS
from nextbuy.serving.snapshot import Snapshot, rating_range


def items(snapshot: Snapshot, ids: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """Response items for index and score arrays, best first; -1 ids and non-finite scores
    are dropped (k entries: the only per-item Python work of an answer)."""
    ids, scores = np.asarray(ids), np.asarray(scores, dtype=np.float64)
    keep = (ids >= 0) & np.isfinite(scores)
    ids = ids[keep]
    values = np.round(scores[keep], 6).tolist()
    info = snapshot.item_info
    return [
        {"item_id": item_id, "rank": rank, "score": score, **info[i]}
        for rank, (i, item_id, score) in enumerate(
            zip(ids.tolist(), snapshot.item_ids[ids].tolist(), values, strict=True), start=1
        )
    ]


def ranked(
    snapshot: Snapshot, key: str, ids: np.ndarray, scores: np.ndarray, **fields: Any
) -> dict[str, Any]:
    """An answer whose ranked items are under ``key``, after ``fields`` and the model version."""
    return {**fields, "model_version": snapshot.version, key: items(snapshot, ids, scores)}


def recommendation(
    snapshot: Snapshot, user_id: str, strategy: str, ids: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    """One user's answer (``RecommendResponse``)."""
    return ranked(snapshot, "recommendations", ids, scores, user_id=user_id, strategy=strategy)


def popular(snapshot: Snapshot, ids: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """The popular list (``PopularResponse``)."""
    return ranked(snapshot, "items", ids, scores)


def similar(
    snapshot: Snapshot, item_id: str, method: str, ids: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    """Items similar to one item (``SimilarItemsResponse``)."""
    return ranked(snapshot, "items", ids, scores, item_id=item_id, method=method)


def item_detail(snapshot: Snapshot, item_id: str, i: int) -> dict[str, Any]:
    """Catalog fields, other attributes and training popularity of item ``i`` (``ItemDetail``)."""
    attributes: dict[str, Any] = {}
    in_stock = None
    stock = snapshot.filters.in_stock
    catalog = snapshot.artifact.catalog
    if catalog is not None and len(catalog) == snapshot.n_items and i < snapshot.n_items:
        for column, value in catalog.iloc[i].items():
            if column in ITEM_FIELDS or column == "item_id":
                continue
            value = _plain(value)
            if column == "in_stock":
                in_stock = None if value is None or stock is None else bool(stock[i])
            else:
                attributes[str(column)] = value
    live = snapshot.live
    if live is not None and stock is not None and (i >= snapshot.n_items or item_id in live.stored):
        in_stock = bool(stock[i])
    return {
        "item_id": item_id,
        **snapshot.item_info[i],
        "in_stock": in_stock,
        "hidden": bool(live is not None and live.hidden[i]),
        "deleted": bool(live is not None and live.deleted[i]),
        "new": i >= snapshot.n_items,
        "attributes": attributes,
        "n_users": int(snapshot.counts[i]),
        "popularity_rank": int(snapshot.popular_rank[i]),
        "model_version": snapshot.version,
    }


def model_card(snapshot: Snapshot) -> dict[str, Any]:
    """What is served: algorithm, version, dates, parameters, metrics, sizes (``ModelCard``)."""
    manifest = snapshot.artifact.manifest
    return {
        "name": snapshot.name,
        "model": str(manifest.get("model", snapshot.model.name)),
        "version": snapshot.version,
        "trained_at": manifest.get("created_at"),
        "loaded_at": snapshot.loaded_at,
        "params": dict(manifest.get("params", snapshot.model.params)),
        "metrics": dict(manifest.get("metrics") or {}),
        "n_users": snapshot.n_users,
        "n_items": snapshot.n_items,
        "explicit": bool(manifest.get("explicit", False)),
        "predicts_ratings": snapshot.predicts_ratings,
        "rating_range": rating_range(manifest, snapshot.artifact.seen),
        # relative to the models folder: the server's own layout is not the client's business
        "path": f"{snapshot.artifact.path.parent.name}/{snapshot.artifact.path.name}",
    }


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value from a pandas cell (NaN/NA -> None, numpy -> Python)."""
    if value is None or (not isinstance(value, (str, bytes, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
