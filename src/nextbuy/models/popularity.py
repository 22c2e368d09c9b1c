"""Popularity baseline: the same most-popular ranking for every user."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models.base import Recommender
from nextbuy.models.registry import register


def item_popularity(
    user_items: sp.csr_matrix, weighting: Literal["count", "value"] = "count"
) -> np.ndarray:
    """Per-item popularity (float32): distinct users (``count``) or summed values (``value``)."""
    if weighting == "count":
        counts = np.bincount(user_items.indices, minlength=user_items.shape[1])
        return counts.astype(np.float32)
    if weighting == "value":
        return np.asarray(user_items.sum(axis=0), dtype=np.float32).ravel()
    raise ConfigError(f"popularity weighting must be 'count' or 'value', not {weighting!r}")


def popularity_share(user_items: sp.csr_matrix) -> np.ndarray:
    """Share of users who interacted with each item (float32 in [0, 1]).

    Factor and history models keep this as ``popularity_``: the non-personal scores they give
    users they know nothing about (new users, empty histories).
    """
    counts = item_popularity(user_items, "count")
    return counts / np.float32(max(user_items.shape[0], 1))


def fill_rows(scores: np.ndarray, rows: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Overwrite the score rows selected by the boolean mask ``rows`` with ``fallback``."""
    if rows.any():
        scores[rows] = fallback
    return scores


@register
class Popularity(Recommender):
    """Scores every item by its popularity in the training data, the same for every user.

    ``similar_items`` returns the most popular other items (popularity knows no similarity),
    which is the honest baseline for item-to-item widgets too.
    """

    name = "popularity"
    state_attributes: ClassVar[tuple[str, ...]] = ("popularity",)
    defaults: ClassVar[dict[str, Any]] = {
        # "count": distinct users per item; "value": sum of interaction values (e.g. quantities)
        "weighting": "count",
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.popularity_: np.ndarray = np.zeros(0, dtype=np.float32)

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> Popularity:
        """Count each item's users (or sum its values); ``valid`` is ignored."""
        self.popularity_ = item_popularity(train.csr, self.params["weighting"])
        self._remember(train)
        return self

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        """The popularity vector repeated for each user (known or not)."""
        users = np.asarray(users).ravel()
        return np.tile(np.asarray(self.popularity_, dtype=np.float32), (len(users), 1))

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The item's popularity per pair; NaN where the user or item is unknown."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        ok = (users >= 0) & (users < self.n_users_) & (items >= 0) & (items < self.n_items_)
        out = np.full(len(users), np.nan, dtype=np.float32)
        out[ok] = self.popularity_[items[ok]]
        return out

    def similar_items(
        self, items: np.ndarray | list[int], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most popular items other than the item itself (-1 / -inf padded)."""
        items = np.asarray(items, dtype=np.int64).ravel()
        n, m = len(items), self.n_items_
        pop = np.asarray(self.popularity_, dtype=np.float32)
        # One global order serves every query: take k + 1 and drop the item itself (or the last).
        top = np.argsort(-pop, kind="stable")[: min(k + 1, m)]
        ids = np.broadcast_to(top, (n, len(top)))
        keep = ids != items[:, None]
        full = keep.all(axis=1)
        keep[full, -1] = False
        width = len(top) - 1
        ids = ids[keep].reshape(n, width).astype(np.int32)
        out_ids = np.full((n, k), -1, dtype=np.int32)
        out_scores = np.full((n, k), -np.inf, dtype=np.float32)
        width = min(width, k)
        out_ids[:, :width] = ids[:, :width]
        out_scores[:, :width] = pop[ids[:, :width]]
        unknown = (items < 0) | (items >= m)
        out_ids[unknown] = -1
        out_scores[unknown] = -np.inf
        return out_ids, out_scores

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: count users or sum values."""
        return {"weighting": trial.suggest_categorical("weighting", ["count", "value"])}
