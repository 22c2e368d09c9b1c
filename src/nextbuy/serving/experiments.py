"""A/B tests in the server: which variant answers a user, the ``recommendation_id`` on every
answer, impressions logged off the request path, and the alias follower.

* :class:`ExperimentRouter` reads the running experiment of the deployment's data set from the
  event store (so every worker and replica agrees, refreshed every couple of seconds), assigns
  users by the salted hash, answers each variant from its own model version, and tags answers.
* :class:`ImpressionLog` queues served lists and writes them in batches from a thread; when the
  database is slow the bounded queue drops (and counts) lists instead of slowing answers.
  A request queues one compact :class:`Served`; the rows are built off the request path.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nextbuy.errors import NextBuyError
from nextbuy.experiments.assignment import assign
from nextbuy.experiments.definition import Experiment, Variant
from nextbuy.store.experiments import IMPRESSION_FIELDS, ExperimentStore

if TYPE_CHECKING:
    from nextbuy.serving.online import OnlineLayer
    from nextbuy.serving.options import RecommendOptions
    from nextbuy.serving.service import RecommendationService
    from nextbuy.serving.storehealth import StoreHealth

logger = logging.getLogger("nextbuy.serving")

#: How often the running experiment is re-read from the store (seconds).
REFRESH_S = 2.0


@dataclass(frozen=True, slots=True)
class Served:
    """One served list as queued on the request path; its rows are built by the writer."""

    recommendation_id: str
    experiment_id: str | None
    variant: str | None
    user_id: str
    item_ids: list[str]
    served_at: int  # ms since the epoch
    latency_ms: float

    def rows(self) -> list[tuple[Any, ...]]:
        """One impression row per item, ranked from 1, in ``IMPRESSION_FIELDS`` order."""
        head = (self.recommendation_id, self.experiment_id, self.variant, self.user_id)
        tail = (self.served_at, self.latency_ms)
        return [(*head, item, position, *tail) for position, item in enumerate(self.item_ids, 1)]


class ImpressionLog:
    """Bounded queue of served lists, flushed in batches by a daemon thread.

    The request path only appends one :class:`Served` (or a list of rows) to a deque, which is
    thread-safe for one appender and one drainer; rows are built by the flushing thread.
    """

    def __init__(
        self,
        store: ExperimentStore,
        max_rows: int = 100_000,
        every_s: float = 0.2,
        health: StoreHealth | None = None,
    ):
        self.store = store
        #: The online layer's view of the store: while it is down, batches are dropped without
        #: a try (no connection held, no traceback per batch), and failures are logged through it.
        self.health = health
        self.max_lists = max(max_rows // 10, 1)
        self.queue: deque[Served | list[dict[str, Any]]] = deque()
        self.every_s = every_s
        self.dropped = 0
        self.written = 0

    def put(self, rows: Served | list[dict[str, Any]]) -> None:
        """Queue one served list (never blocks; a full queue drops it and counts)."""
        if len(self.queue) >= self.max_lists:
            self.dropped += 1
        else:
            self.queue.append(rows)

    def flush(self) -> int:
        """Write what is queued now in one transaction; returns the rows written."""
        batch: list[tuple[Any, ...]] = []
        while True:
            try:
                served = self.queue.popleft()
            except IndexError:
                break
            if isinstance(served, Served):
                batch += served.rows()
            else:
                batch += [tuple(row.get(k) for k in IMPRESSION_FIELDS) for row in served]
        if batch:
            if self.health is not None and not self.health.should_try():
                self.dropped += 1  # the store is down: attribution loses these lists
                return len(batch)
            try:
                self.written += self.store.add_impression_tuples(batch)
            except NextBuyError as exc:
                self.dropped += 1
                if self.health is None:
                    logger.exception("could not log %d impressions (dropped)", len(batch))
                else:
                    self.health.failed("logging impressions", exc)
            else:
                if self.health is not None:
                    self.health.succeeded()
        return len(batch)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every_s):
            self.flush()
        self.flush()


class ExperimentRouter:
    """Answers through the variant a user is assigned to, and tags every answer."""

    def __init__(self, service: RecommendationService, online: OnlineLayer | None) -> None:
        self.service = service
        self.online = online
        self.store: ExperimentStore | None = None
        self.log: ImpressionLog | None = None
        self._experiment: Experiment | None = None
        self._changed_here = False
        self._reading = threading.Lock()
        self._services: dict[Path, RecommendationService] = {}
        self._lock = threading.Lock()

    def open(self) -> None:
        """Use the online layer's store (a read-only server runs no experiments)."""
        if self.online is not None and self.online.store is not None:
            self.store = ExperimentStore(self.online.store)
            self.log = ImpressionLog(self.store, health=self.online.health)
            if self._reading.acquire(blocking=False):  # the first read, at start-up
                self._read()

    # ------------------------------------------------------------------ experiment
    def current(self) -> Experiment | None:
        """The running experiment of this data set, as last read from the store.

        A request never waits for the store: :meth:`follow` re-reads every REFRESH_S on its
        own thread. Only the read after a change made here (:meth:`refresh`) runs in line.
        """
        if self.store is None:
            return None
        if self._changed_here and self._reading.acquire(blocking=False):
            self._changed_here = False
            self._read()
        exp = self._experiment
        return exp if exp is not None and exp.running() else None

    def follow(self, stop: threading.Event) -> None:
        """Re-read the store's experiments every REFRESH_S until ``stop`` (a daemon thread)."""
        while not stop.wait(REFRESH_S):
            if self._reading.acquire(blocking=False):
                self._read()

    def _read(self) -> None:
        """Re-read the experiments (holding ``_reading``); a store that fails changes nothing."""
        try:
            health = None if self.online is None else self.online.health
            if self.store is None or (health is not None and not health.should_try()):
                return
            try:
                stored = self.store.all()
            except Exception:  # the store is down: answers go on with the last one known
                return
            running = [e for e in map(_parse, stored) if e is not None and e.running()]
            self._experiment = running[0] if running else None
        finally:
            self._reading.release()

    def refresh(self) -> None:
        """Re-read in line at the next request (an experiment was created or stopped here)."""
        self._changed_here = True

    def variant_of(self, user_id: str) -> tuple[Experiment | None, Variant | None]:
        exp = self.current()
        if exp is None:
            return None, None
        if exp.eligible == "known" and not self._known(user_id):
            return exp, None
        name = assign(exp, user_id)
        return exp, next(v for v in exp.variants if v.name == name)

    def _known(self, user_id: str) -> bool:
        snap = self.service.snapshot
        histories = snap.histories
        return snap.artifact.user_map.index_of(user_id) >= 0 or (
            histories is not None and histories.get(user_id) is not None
        )

    def service_for(self, variant: Variant | None) -> RecommendationService:
        """The service answering ``variant``: the main one, or one per other model version."""
        if variant is None:
            return self.service
        from nextbuy.artifacts import resolve_version_dir

        base = self.service.snapshot.artifact.path.parent
        ref = variant.model
        target = resolve_version_dir(f"{base}{ref}" if ref.startswith("@") else base / ref)
        if target == self.service.snapshot.artifact.path:
            return self.service
        with self._lock:
            svc = self._services.get(target)
            if svc is None:
                svc = self._build(target)
                self._services[target] = svc
        return svc

    def _build(self, target: Path) -> RecommendationService:
        from nextbuy.serving.service import RecommendationService

        settings = self.service.settings.model_copy(
            update={"model_dir": target, "sync_reads": True}  # follows events from the store
        )
        prepare = None if self.online is None else self.online.prepare
        svc = RecommendationService(settings, prepare=prepare)
        svc.load()
        return svc

    # ------------------------------------------------------------------ answers
    async def recommend(self, user_id: str, options: RecommendOptions) -> dict[str, Any]:
        """The answer of the user's variant, tagged and logged as an impression."""
        started = time.perf_counter()
        exp, variant = self.variant_of(user_id)
        if variant is not None and variant.options:
            options = options.model_copy(update=variant.options)
        answer = await self.service_for(variant).recommend_async(user_id, options)
        return self._tag(answer, user_id, exp, variant, started)

    def recommend_batch(self, user_ids: Sequence[str], options: RecommendOptions) -> dict[str, Any]:
        """One tagged answer per user; users are answered by their variants' models."""
        started = time.perf_counter()
        picks = [self.variant_of(u) for u in user_ids]
        groups: dict[str | None, list[int]] = {}
        for i, (_, v) in enumerate(picks):
            groups.setdefault(None if v is None else v.name, []).append(i)
        results: list[dict[str, Any]] = [{}] * len(user_ids)
        version = self.service.snapshot.version
        for positions in groups.values():
            exp, variant = picks[positions[0]]
            opts = (
                options.model_copy(update=variant.options)
                if variant and variant.options
                else options
            )
            part = self.service_for(variant).recommend_batch([user_ids[i] for i in positions], opts)
            for i, answer in zip(positions, part["results"], strict=True):
                results[i] = self._tag(answer, user_ids[i], exp, variant, started)
        return {"model_version": version, "results": results}

    def tag_similar(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Similar items carry an ID too (no user: no variant, no impression)."""
        return {**answer, "recommendation_id": uuid.uuid4().hex, "variant": None}

    def _tag(
        self, answer: dict[str, Any], user_id: str, exp: Experiment | None,
        variant: Variant | None, started: float,
    ) -> dict[str, Any]:  # fmt: skip
        rec_id = uuid.uuid4().hex
        in_test = variant is not None and exp is not None
        tagged = {
            **answer,
            "recommendation_id": rec_id,
            "variant": variant.name if variant is not None else None,
            "experiment_id": exp.experiment_id if in_test and exp is not None else None,
        }
        if self.log is not None and (in_test or self.service.settings.impressions == "all"):
            latency = (time.perf_counter() - started) * 1000
            items = [item["item_id"] for item in answer.get("recommendations", ())]
            self.log.put(
                Served(rec_id, tagged["experiment_id"], tagged["variant"], user_id, items,
                       int(time.time() * 1000), latency)
            )  # fmt: skip
        return tagged


def _parse(row: dict[str, Any]) -> Experiment | None:
    try:
        return Experiment(**row)
    except ValueError:
        logger.exception("stored experiment %s is unreadable", row.get("experiment_id"))
        return None


def follow_alias(service: RecommendationService, stop: threading.Event, every_s: float) -> None:
    """Reload when the alias the server follows (``NAME@ALIAS``) points elsewhere."""
    from nextbuy.artifacts import resolve_version_dir

    while not stop.wait(every_s):
        try:
            target = resolve_version_dir(service.model_dir)
            if service.ready and target != service.snapshot.artifact.path:
                service.reload()
        except Exception:  # a half-written registry or a bad version: keep serving, retry
            logger.exception("could not follow %s", service.model_dir)
