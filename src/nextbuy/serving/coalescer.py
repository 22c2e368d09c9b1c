"""The request coalescer: single-user (or single-item) scoring requests of one event-loop turn,
scored at once.

Scoring one user reads every item vector (memory-bound); requests that arrive together are
scored as one matrix product, which under load costs a fraction per user. At low load a
request is scored alone, without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from nextbuy.serving.scoring import score_rows
from nextbuy.serving.snapshot import Snapshot


class ScoreCoalescer:
    """Collects single-user scoring requests made in one event-loop turn and scores them at once.

    ``score`` returns a future; the first request of a turn schedules ``_flush`` with
    ``call_soon``, which runs after every request already queued in that turn has reached its
    own ``score`` call. Requests are grouped by snapshot, so a reload in between never mixes
    versions. Runs on the event loop only (no locks needed).
    """

    def __init__(
        self,
        max_batch: int = 64,
        score: Callable[[Snapshot, np.ndarray], np.ndarray] = score_rows,
    ) -> None:
        self.max_batch = max_batch
        #: What a batch of keys becomes, one row per key: users' score rows by default, or
        #: items' cosine rows (``similarity.cosine_rows``).
        self._score = score
        self._pending: dict[int, tuple[Snapshot, list[int], list[asyncio.Future[np.ndarray]]]]
        self._pending = {}
        self._scheduled = False

    def score(self, snapshot: Snapshot, user: int) -> asyncio.Future[np.ndarray]:
        """A future resolving to trained ``user``'s writable score row over every item."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        pending = self._pending.get(id(snapshot))
        if pending is None:
            pending = self._pending[id(snapshot)] = (snapshot, [], [])
        _, users, futures = pending
        users.append(user)
        futures.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._scheduled = False
        for snapshot, users, futures in pending.values():
            for start in range(0, len(users), self.max_batch):
                chunk = futures[start : start + self.max_batch]
                try:
                    rows = self._score(snapshot, np.asarray(users[start : start + self.max_batch]))
                except Exception as exc:  # every waiting request gets the error, not a hang
                    for future in chunk:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for row, future in zip(rows, chunk, strict=True):
                    if not future.done():  # a cancelled request (client gone) is skipped
                        future.set_result(row)
