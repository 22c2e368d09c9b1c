"""Popularity baseline: the same most-popular ranking for every user."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.models.base import Recommender
from nextbuy.models.common import item_popularity
from nextbuy.models.params import Hyperparameters, param


class PopularityConfig(Hyperparameters):
    """Hyper-parameters of :class:`Popularity`."""

    weighting: Literal["count", "value"] = param(
        "count", "count = distinct users per item; value = summed values (e.g. quantities)"
    )


class Popularity(Recommender):
    """Scores every item by its popularity in the training data, the same for every user.

    ``similar_items`` returns the most popular other items (popularity knows no similarity),
    which is the honest baseline for item-to-item widgets too.
    """

    name = "popularity"
    config_class = PopularityConfig
    config: PopularityConfig
    state_attributes: ClassVar[tuple[str, ...]] = ("popularity",)

    popularity_: np.ndarray  # per item: distinct users, or summed values

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Count each item's users (or sum its values); ``valid`` is ignored."""
        self.popularity_ = item_popularity(train.csr, self.config.weighting)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """The popularity vector repeated for each user (known or not)."""
        return np.tile(np.asarray(self.popularity_, dtype=np.float32), (len(users), 1))

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Histories change nothing: the same popular ranking for everyone."""
        return self._score_users(users)

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
