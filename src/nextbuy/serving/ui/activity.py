"""Timelines from the training data: a user's interactions by time, an item's weekly count.

The artifact keeps no timestamps, so the dashboard reads the version's training file back
(:mod:`nextbuy.reporting.source`), once per served version and only when it is small enough,
into sorted arrays; a user's rows are one binary search, an item's weeks one sparse row.
Events stored since training come from the event store beside it (see :mod:`.views`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.errors import NextBuyError

#: Training files larger than this are not read by the server (the pages say so).
MAX_SOURCE_BYTES = 256 * 1024 * 1024
WEEK_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Activity:
    """Training rows sorted by (user, time), and items x weeks counts."""

    users: np.ndarray  # str, sorted
    items: np.ndarray  # str, row order
    timestamps: np.ndarray  # int64 seconds
    events: np.ndarray | None  # str event types, when the data has them
    values: np.ndarray  # float
    item_keys: np.ndarray  # str, sorted unique item IDs
    weekly: sp.csr_matrix  # [len(item_keys), n_weeks] rows per item and week
    week0: int  # first week (Unix seconds // WEEK_S)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Activity:
        users = frame["user_id"].astype(str).to_numpy(dtype=str)
        items = frame["item_id"].astype(str).to_numpy(dtype=str)
        stamps = (
            frame["timestamp"].to_numpy(dtype=np.int64)
            if "timestamp" in frame
            else np.zeros(len(frame), dtype=np.int64)
        )
        order = np.lexsort((stamps, users))
        events = frame["event"].astype(str).to_numpy(dtype=str)[order] if "event" in frame else None
        item_keys, codes = np.unique(items, return_inverse=True)
        timed = stamps > 0
        weeks = stamps // WEEK_S
        week0 = int(weeks[timed].min()) if timed.any() else 0
        n_weeks = int(weeks[timed].max()) - week0 + 1 if timed.any() else 1
        weekly = sp.csr_matrix(
            (np.ones(int(timed.sum()), dtype=np.int32), (codes[timed], weeks[timed] - week0)),
            shape=(len(item_keys), n_weeks),
        )
        weekly.sum_duplicates()
        return cls(
            users=users[order],
            items=items[order],
            timestamps=stamps[order],
            events=events,
            values=frame["value"].to_numpy(dtype=np.float64)[order],
            item_keys=item_keys,
            weekly=weekly,
            week0=week0,
        )

    def user_rows(self, user_id: str) -> list[dict[str, Any]]:
        """The user's training rows, newest first: item, time, event type, value."""
        lo = int(np.searchsorted(self.users, user_id, side="left"))
        hi = int(np.searchsorted(self.users, user_id, side="right"))
        idx = np.arange(lo, hi)[::-1]
        return [
            {
                "item_id": str(self.items[i]),
                "timestamp": int(self.timestamps[i]) or None,
                "event": None if self.events is None else str(self.events[i]),
                "value": float(self.values[i]),
            }
            for i in idx.tolist()
        ]

    def item_weeks(self, item_id: str) -> tuple[list[int], list[int]]:
        """Week start times (Unix seconds) and training rows of the item in each week."""
        i = int(np.searchsorted(self.item_keys, item_id))
        if i >= len(self.item_keys) or self.item_keys[i] != item_id:
            return [], []
        row = np.asarray(self.weekly[i].todense()).ravel()
        starts = (self.week0 + np.arange(len(row))) * WEEK_S
        return starts.tolist(), row.astype(int).tolist()


class ActivityCache:
    """The :class:`Activity` of the served version (or why there is none), built once."""

    def __init__(self, max_bytes: int = MAX_SOURCE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._value: tuple[str, Activity | str] | None = None
        self._lock = threading.Lock()

    def get(self, version: str, manifest: dict[str, Any]) -> Activity | str:
        """The activity of ``version``, or a sentence saying why it is not available."""
        with self._lock:
            if self._value is not None and self._value[0] == version:
                return self._value[1]
            from nextbuy.reporting.source import read_training_data

            try:
                data = read_training_data(manifest, self.max_bytes)
                value: Activity | str = Activity.from_frame(data.frame)
            except (NextBuyError, OSError, ValueError) as exc:
                value = f"training data not available here: {exc}"
            self._value = (version, value)
            return value
