"""Rating prediction for one (user, item) pair: the model's rating or score, or a fallback."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nextbuy.serving.catalog import require_item
from nextbuy.serving.history import UserHistory
from nextbuy.serving.scoring import resolve, score_rows
from nextbuy.serving.snapshot import Snapshot


def predict(
    snapshot: Snapshot, user_id: str, item_id: str, history: UserHistory | None
) -> dict[str, Any]:
    """Rating (explicit models, clipped to the data's scale) or score of one pair
    (``RatingResponse``); unknown users get the item's mean rating or popularity."""
    i = require_item(snapshot, item_id)
    u = snapshot.artifact.user_map.index_of(user_id)
    value = math.nan
    if history is not None:  # scored from the up-to-date history (new users too)
        row = resolve(history, snapshot, u).row
        if row.nnz or u >= 0:
            value = float(score_rows(snapshot, row)[0, i])
    elif i >= snapshot.n_items and u >= 0:  # a new item: only the full row covers it
        value = float(score_rows(snapshot, np.array([u], dtype=np.int64))[0, i])
    elif u >= 0:
        users, items = np.array([u], dtype=np.int64), np.array([i], dtype=np.int64)
        value = float(np.asarray(snapshot.model.predict(users, items), np.float64).ravel()[0])
    strategy = "personalized"
    if not math.isfinite(value):
        strategy = "fallback"
        value = _fallback(snapshot, i)
    clipped = False
    if snapshot.predicts_ratings and snapshot.rating_range is not None:
        low, high = snapshot.rating_range
        clipped = not (low <= value <= high)
        value = min(max(value, low), high)
    return {
        "user_id": user_id,
        "item_id": item_id,
        "prediction": round(value, 6),
        "kind": "rating" if snapshot.predicts_ratings else "score",
        "strategy": strategy,
        "rating_range": snapshot.rating_range,
        "clipped": clipped,
        "model_version": snapshot.version,
    }


def _fallback(snapshot: Snapshot, i: int) -> float:
    """The item's mean training rating (explicit) or popularity share (implicit); the overall
    mean for a new item nobody can be scored for."""
    if i >= snapshot.n_items:
        return float(np.mean(snapshot.item_means)) if snapshot.predicts_ratings else 0.0
    return float(snapshot.item_means[i] if snapshot.predicts_ratings else snapshot.popularity[i])
