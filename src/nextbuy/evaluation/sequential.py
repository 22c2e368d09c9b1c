"""Protocol C (DESIGN section 7): each user's last interaction is the test, the one before it
validation; full ranking over all items with seen items excluded, NDCG@10 and HR@10."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextbuy.data.interactions import Interactions

#: Users with fewer interactions stay in training only.
MIN_SEQUENCE = 3


@dataclass(frozen=True)
class LeaveLast:
    """Protocol C's parts of one data set, over the same ID maps."""

    data: Interactions
    from_end: np.ndarray  # per row: 0 = the user's last, 1 = second to last, 2 = the rest

    @property
    def train(self) -> Interactions:
        """Everything but each long-enough user's last two interactions."""
        return self.data.subset(self.from_end >= 2)

    @property
    def valid(self) -> Interactions:
        """Each long-enough user's second-to-last interaction."""
        return self.data.subset(self.from_end == 1)

    @property
    def train_valid(self) -> Interactions:
        """Training plus validation: what a model is refitted on before the test."""
        return self.data.subset(self.from_end >= 1)

    @property
    def test(self) -> Interactions:
        """Each long-enough user's last interaction."""
        return self.data.subset(self.from_end == 0)


def leave_last_split(data: Interactions) -> LeaveLast:
    """Sort each user's interactions by timestamp, ties by item index (the item IDs' order);
    the last is test, the one before validation; users with fewer than 3 are train only."""
    order = np.lexsort((data.items, data.timestamps, data.users))
    users = data.users[order]
    ends = np.searchsorted(users, users, side="right")
    from_end = ends - 1 - np.arange(len(users))
    counts = np.bincount(users, minlength=data.n_users)[users]
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.where(counts >= MIN_SEQUENCE, np.minimum(from_end, 2), 2)
    return LeaveLast(data, rank)
