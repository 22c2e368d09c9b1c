"""The request coalescer: single-user (or single-item) scoring requests of one event-loop turn,
scored at once.

Scoring one user reads every item vector (memory-bound); requests that arrive together are
scored as one matrix product, which under load costs a fraction per user, and ranked as one
block (:class:`RankCoalescer`: exclusions, filters and top-k in one call). At low load a
request is scored alone, without waiting.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.pruning import NormPrefix
from nextbuy.serving.ranking import rank
from nextbuy.serving.scoring import score_rows
from nextbuy.serving.snapshot import Snapshot


class _OneFlushPerTurn(ABC):
    """Requests of one event-loop turn collected, then answered by one ``_flush`` at its end."""

    _scheduled = False

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush once at the end of this event-loop turn, however many requests it brings."""
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)

    @abstractmethod
    def _flush(self) -> None:
        """Answer every request collected this turn."""


class ScoreCoalescer(_OneFlushPerTurn):
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
        self._schedule(loop)
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


#: One trained user's ranked answer: item indices and scores, best first (-1 / -inf padded).
Ranked = tuple[np.ndarray, np.ndarray]


class RankCoalescer(_OneFlushPerTurn):
    """Trained users' top-k requests of one event-loop turn, scored *and ranked* together.

    Like :class:`ScoreCoalescer` (one matrix product per snapshot and turn), and then the
    exclusions, filters, rules and top-k of the requests with the same options run once for
    their rows (``ranking.rank`` on many rows costs a fraction per row of one call per row).
    """

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._pending: dict[int, tuple[Snapshot, dict[tuple[Any, ...], _Group]]] = {}
        self._scheduled = False

    @staticmethod
    def prefix(snapshot: Snapshot) -> NormPrefix | None:
        """The norm prefix of the snapshot's model (built on first use, a few milliseconds;
        kept in the snapshot's cell, so a reloaded-away model and its prefix are freed)."""
        return snapshot.norm_prefix.get(lambda: NormPrefix.build(snapshot.model, snapshot.n_items))

    def rank(
        self, snapshot: Snapshot, options: RecommendOptions, user: int, exclude: np.ndarray | None
    ) -> asyncio.Future[Ranked]:
        """A future resolving to trained ``user``'s top ``options.k`` without ``exclude``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Ranked] = loop.create_future()
        pending = self._pending.get(id(snapshot))
        if pending is None:
            pending = self._pending[id(snapshot)] = (snapshot, {})
        groups = pending[1]
        key = options.cache_key("")
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(options)
        group.users.append(user)
        group.excludes.append(_NONE if exclude is None else exclude)
        group.futures.append(future)
        self._schedule(loop)
        return future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._scheduled = False
        for snapshot, groups in pending.values():
            # each group's rows contiguous: one product per chunk, one ranking per group in it
            parts = [(g, j) for g in groups.values() for j in range(len(g.users))]
            for start in range(0, len(parts), self.max_batch):
                chunk = parts[start : start + self.max_batch]
                try:
                    _rank_chunk(snapshot, chunk, self.prefix(snapshot))
                except Exception as exc:  # every waiting request gets the error, not a hang
                    for group, j in chunk:
                        if not group.futures[j].done():
                            group.futures[j].set_exception(exc)


_NONE = np.empty(0, dtype=np.int64)


@dataclass
class _Group:
    """Requests of one turn with the same snapshot and options."""

    options: RecommendOptions
    users: list[int] = field(default_factory=list)
    excludes: list[np.ndarray] = field(default_factory=list)
    futures: list[asyncio.Future[Ranked]] = field(default_factory=list)


def _rank_chunk(
    snapshot: Snapshot, chunk: list[tuple[_Group, int]], prefix: NormPrefix | None
) -> None:
    """Answer the chunk: each group's rows from the norm prefix where it is exact, the others
    scored over every item in one product and ranked per group."""
    users = np.fromiter((group.users[j] for group, j in chunk), np.int64, len(chunk))
    runs: list[tuple[_Group, list[int], np.ndarray]] = []  # group, positions, chunk rows
    start = 0
    while start < len(chunk):
        group, stop = chunk[start][0], start
        while stop < len(chunk) and chunk[stop][0] is group:
            stop += 1
        runs.append((group, [j for _, j in chunk[start:stop]], np.arange(start, stop)))
        start = stop
    left: list[tuple[_Group, list[int], np.ndarray]] = []
    for group, positions, rows in runs:
        excludes = [group.excludes[j] for j in positions]
        found = None
        if prefix is not None:
            found = prefix.top(snapshot, users[rows], excludes, group.options)
        if found is None:
            left.append((group, positions, rows))
            continue
        ids, vals, exact = found
        _answer(group, [p for p, ok in zip(positions, exact.tolist(), strict=True) if ok],
                ids[exact], vals[exact])  # fmt: skip
        if not exact.all():
            keep = ~exact
            left.append((group, [p for p, ok in zip(positions, keep.tolist(), strict=True) if ok],
                         rows[keep]))  # fmt: skip
    if not left:
        return
    scores = score_rows(snapshot, users[np.concatenate([rows for _, _, rows in left])])
    start = 0
    for group, positions, rows in left:
        stop = start + len(rows)
        excludes = [group.excludes[j] for j in positions]
        pairs = (
            np.repeat(np.arange(len(excludes)), [len(e) for e in excludes]),
            np.concatenate(excludes).astype(np.int64, copy=False),
        )
        options = group.options
        ids, vals = rank(snapshot, scores[start:stop], options, options.k, pairs)
        _answer(group, positions, ids, vals)
        start = stop


def _answer(group: _Group, positions: list[int], ids: np.ndarray, vals: np.ndarray) -> None:
    """Resolve the futures at ``positions`` of ``group`` with their rows of ``ids``/``vals``."""
    for row, j in enumerate(positions):
        future = group.futures[j]
        if not future.done():  # a cancelled request (client gone) is skipped
            future.set_result((ids[row], vals[row]))
