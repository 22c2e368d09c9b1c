"""Per-user histories since training: the stored events the served model has not seen yet.

The event store is the only source: :meth:`HistoryOverlay.catch_up` reads the events stored
after the last one applied (by ``id``, which the store makes visible in increasing order) and
folds them into immutable per-user records. ``POST /events`` calls it right after its commit,
so the poster's next request sees them; a background thread (and, with several worker
processes, every personal request) calls it too, so events written elsewhere arrive as well.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import select

from nextbuy.serving.catalog import item_indices
from nextbuy.store.schema import events_table

if TYPE_CHECKING:
    from nextbuy.serving.service import ModelState
    from nextbuy.store import EventStore

#: Rows read per query while catching up (bounds memory when starting on a large backlog).
READ_CHUNK = 50_000
#: Event type whose value is a rating (explicit models); the rest are implicit signals.
RATING = "rating"


@dataclass(frozen=True)
class Boundary:
    """Which stored events the model already saw: ids up to ``after_id``, or received up to
    ``after_ms`` (the version's ``created_at``) when the manifest names no id."""

    after_id: int = 0
    after_ms: int | None = None

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> Boundary:
        from datetime import datetime

        data = manifest.get("data") or {}
        last = data.get("event_store_last_id") if isinstance(data, Mapping) else None
        if isinstance(last, int):
            return cls(after_id=last)
        created = manifest.get("created_at")
        try:
            ms = int(datetime.fromisoformat(str(created)).timestamp() * 1000)
        except ValueError:
            return cls()
        return cls(after_ms=ms)


@dataclass(frozen=True)
class Resolved:
    """One user's history against one model snapshot (item indices, not IDs)."""

    row: sp.csr_matrix  # 1 x n_trained: what the model scores (training row + new events)
    seen: np.ndarray  # int64 indices of every item interacted with (trained and new items)
    purchased: np.ndarray  # int64 indices bought since training


class UserHistory:
    """Events of one user since training, aggregated per item; replaced, never changed.

    ``implicit`` sums value x event weight per item (what implicit models score), ``ratings``
    keeps the latest rating per item (explicit models), ``purchased`` the items bought.
    """

    __slots__ = ("version", "implicit", "ratings", "purchased", "_resolved")

    def __init__(
        self,
        version: int = 0,
        implicit: dict[str, float] | None = None,
        ratings: dict[str, tuple[int, int, float]] | None = None,
        purchased: frozenset[str] = frozenset(),
    ) -> None:
        self.version = version
        self.implicit = implicit or {}
        self.ratings = ratings or {}  # item -> (timestamp, id, rating): the latest wins
        self.purchased = purchased
        self._resolved: tuple[int, Resolved] | None = None

    def __len__(self) -> int:
        return len(self.implicit.keys() | self.ratings.keys())

    def updated(
        self,
        events: Iterable[tuple[int, str, str, float, int]],
        weights: Mapping[str, float],
        purchases: frozenset[str],
    ) -> UserHistory:
        """A new record with ``(id, item, event, value, timestamp)`` rows added."""
        implicit = dict(self.implicit)
        ratings = dict(self.ratings)
        bought = set()
        n = 0
        for event_id, item, kind, value, ts in events:
            n += 1
            if kind == RATING:
                if ratings.get(item, (-1, -1, 0.0))[:2] < (ts, event_id):
                    ratings[item] = (ts, event_id, value)
                continue
            implicit[item] = implicit.get(item, 0.0) + value * weights.get(kind, 1.0)
            if kind in purchases:
                bought.add(item)
        purchased = self.purchased | bought if bought else self.purchased
        return UserHistory(self.version + n, implicit, ratings, purchased)

    def resolve(self, state: ModelState, user: int) -> Resolved:
        """The history as item indices of ``state``, merged with the user's training row.

        Cached per snapshot (catalog changes make a new one), so a user's second request does
        no ID lookups.
        """
        cached = self._resolved
        if cached is not None and cached[0] == state.serial:
            return cached[1]
        n = state.n_items
        implicit_ids = list(self.implicit)
        rating_ids = list(self.ratings)
        implicit_idx = item_indices(state, implicit_ids)
        rating_idx = item_indices(state, rating_ids)
        if user >= 0:
            lo, hi = state.seen_indptr[user], state.seen_indptr[user + 1]
            train_idx = state.seen_indices[lo:hi].astype(np.int64)
            train_val = np.asarray(state.artifact.seen.data[lo:hi], dtype=np.float32)
        else:
            train_idx = np.empty(0, dtype=np.int64)
            train_val = np.empty(0, dtype=np.float32)
        if state.predicts_ratings:  # ratings replace training ratings of the same item
            new_idx = rating_idx
            values = (rating[2] for rating in self.ratings.values())
            new_val = np.fromiter(values, np.float32, len(rating_ids))
            keep = (new_idx >= 0) & (new_idx < n)
            idx = np.concatenate([new_idx[keep], train_idx])
            val = np.concatenate([new_val[keep], train_val])
            idx, first = np.unique(idx, return_index=True)  # first occurrence = the new rating
            val = val[first]
        else:  # implicit strength adds up, as training aggregates it
            new_val = np.fromiter(self.implicit.values(), np.float32, len(implicit_ids))
            keep = (implicit_idx >= 0) & (implicit_idx < n)
            idx, inverse = np.unique(
                np.concatenate([train_idx, implicit_idx[keep]]), return_inverse=True
            )
            val = np.bincount(inverse, np.concatenate([train_val, new_val[keep]])).astype(
                np.float32
            )
        row = sp.csr_matrix(
            (val, idx.astype(np.int32), np.array([0, len(idx)])), shape=(1, n), dtype=np.float32
        )
        seen = np.unique(np.concatenate([train_idx, implicit_idx, rating_idx]))
        seen = seen[seen >= 0]
        bought = item_indices(state, list(self.purchased))
        resolved = Resolved(row, seen, bought[bought >= 0])
        self._resolved = (state.serial, resolved)
        return resolved


class HistoryOverlay:
    """The histories of users with events since training, kept current from the store.

    Readers take ``get(user)`` without locks (a dict lookup of an immutable record); one
    writer at a time applies new rows (``catch_up``) and replaces records.
    """

    def __init__(
        self,
        store: EventStore,
        boundary: Boundary,
        weights: Mapping[str, float],
        purchases: Iterable[str],
    ) -> None:
        self.store = store
        self.boundary = boundary
        self.weights = dict(weights)
        self.purchases = frozenset(purchases)
        self.users: dict[str, UserHistory] = {}
        self.last_id = boundary.after_id
        self.applied = 0
        self._lock = threading.Lock()

    def get(self, user_id: str) -> UserHistory | None:
        return self.users.get(user_id)

    def catch_up(self) -> int:
        """Apply every event stored since the last call; returns how many were applied."""
        with self._lock:
            total = 0
            while True:
                rows = self._read(self.last_id)
                if not rows:
                    break
                self._apply(rows)
                self.last_id = int(rows[-1][0])
                total += len(rows)
                if len(rows) < READ_CHUNK:
                    break
            self.applied += total
            return total

    def _read(self, after: int) -> list[Any]:
        t = events_table.c
        stmt = (
            select(t.id, t.user_id, t.item_id, t.event, t.value, t.timestamp)
            .where(t.id > after)
            .order_by(t.id)
            .limit(READ_CHUNK)
        )
        if self.boundary.after_ms is not None:
            stmt = stmt.where(t.received_at > self.boundary.after_ms)
        with self.store.engine.connect() as conn:
            return list(conn.execute(stmt).all())

    def _apply(self, rows: list[Any]) -> None:
        by_user: dict[str, list[tuple[int, str, str, float, int]]] = {}
        for event_id, user, item, kind, value, ts in rows:
            by_user.setdefault(user, []).append((event_id, item, kind, float(value), int(ts)))
        for user, events in by_user.items():
            current = self.users.get(user) or UserHistory()
            self.users[user] = current.updated(events, self.weights, self.purchases)
