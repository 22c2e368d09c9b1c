"""Per-user answer cache: LRU with a time limit, stamped with the model snapshot and the
user's event count so that a new event or a catalog change (a new snapshot) is never hidden."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class AnswerCache:
    """``get``/``put`` answers by key; an entry whose stamp differs from the caller's is a miss.

    The stamp is (snapshot serial, user's event count): reloads and catalog changes make a new
    snapshot, events raise the count, so stale answers are never served, and nothing has to
    find and delete them (the LRU order drops them).
    """

    def __init__(
        self,
        size: int,
        ttl_s: float,
        on_lookup: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._on_lookup = on_lookup or (lambda hit: None)
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: Hashable) -> Any | None:
        """The answer stored under ``key`` with ``stamp``, still fresh; else None (a miss)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            hit = entry is not None and entry[0] == stamp and entry[1] > now
            if hit:
                self._entries.move_to_end(key)
            elif entry is not None:
                del self._entries[key]
        self._on_lookup(hit)
        return entry[2] if hit else None  # type: ignore[index]

    def put(self, key: Hashable, stamp: Hashable, answer: Any) -> None:
        """Keep ``answer`` (never modified afterwards) under ``key``; evicts the oldest."""
        expires = self._clock() + self.ttl_s
        with self._lock:
            self._entries[key] = (stamp, expires, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
