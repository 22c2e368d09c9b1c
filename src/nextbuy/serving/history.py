"""Per-user histories since training: the stored events the served model has not seen yet.

The event store is the only source: :meth:`HistoryOverlay.catch_up` reads the events stored
after the last one applied (by ``id``, which the store makes visible in increasing order) and
folds them into immutable per-user records. ``POST /events`` calls it right after its commit,
so the poster's next request sees them; a background thread (and, with several worker
processes, every personal request) calls it too, so events written elsewhere arrive as well.
Records hold item IDs; :func:`nextbuy.serving.scoring.resolve` maps them onto a snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


class UserHistory:
    """Events of one user since training, aggregated per item; replaced, never changed.

    ``implicit`` sums value x event weight per item (what implicit models score), ``ratings``
    keeps the latest rating per item (explicit models), ``purchased`` the items bought.
    ``resolved`` caches the record mapped onto one snapshot, as ``(snapshot serial, value)``.
    """

    __slots__ = ("version", "implicit", "ratings", "purchased", "resolved")

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
        self.resolved: tuple[int, Any] | None = None

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
            # re-inserted, so the dict lists items by their latest event (sequence models)
            implicit[item] = implicit.pop(item, 0.0) + value * weights.get(kind, 1.0)
            if kind in purchases:
                bought.add(item)
        purchased = self.purchased | bought if bought else self.purchased
        return UserHistory(self.version + n, implicit, ratings, purchased)


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
        self._lock = threading.Lock()

    def get(self, user_id: str) -> UserHistory | None:
        return self.users.get(user_id)

    def catch_up(self) -> int:
        """Apply every event stored since the last call; returns how many were applied."""
        with self._lock:
            total = 0
            while True:
                rows = self.store.events_after(
                    self.last_id, READ_CHUNK, received_after_ms=self.boundary.after_ms
                )
                if not rows:
                    break
                self._apply(rows)
                self.last_id = int(rows[-1][0])
                total += len(rows)
                if len(rows) < READ_CHUNK:
                    break
            return total

    def _apply(self, rows: list[tuple[int, str, str, str, float, int]]) -> None:
        by_user: dict[str, list[tuple[int, str, str, float, int]]] = {}
        for event_id, user, item, kind, value, ts in rows:
            by_user.setdefault(user, []).append((event_id, item, kind, float(value), int(ts)))
        for user, events in by_user.items():
            current = self.users.get(user) or UserHistory()
            self.users[user] = current.updated(events, self.weights, self.purchases)
