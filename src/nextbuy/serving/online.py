"""The online layer: the event store behind ``/events`` and catalog writes, kept in step with
the served model (histories since training, catalog changes, new items) and with other
processes writing to the same store."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from nextbuy.serving.catalog import Rules, apply_catalog, attach_catalog
from nextbuy.serving.history import Boundary, HistoryOverlay
from nextbuy.store import EventStore, StoredCounts
from nextbuy.store.events import StoreError
from nextbuy.store.schema import items_table

if TYPE_CHECKING:
    from nextbuy.serving.event_schemas import CatalogItem, Event
    from nextbuy.serving.metrics import ServingMetrics
    from nextbuy.serving.service import ModelState, RecommendationService
    from nextbuy.serving.settings import ServingSettings

logger = logging.getLogger("nextbuy.serving")

#: Catalog rows written by another process are picked up when changed this recently (ms);
#: rows already applied with the same values are skipped, so re-reading them costs nothing.
ITEMS_LOOKBACK_MS = 5_000
#: Item IDs per ``IN (...)`` query (SQLite limits bound parameters).
ID_CHUNK = 2_000


class StoreUnavailableError(RuntimeError):
    """The event store is off or unreachable; the message says what to do (503)."""


def default_database_url(model_dir: Path) -> str:
    """``MODELS_DIR/events.db`` for ``MODELS_DIR/NAME`` or a version folder inside it."""
    from nextbuy.artifacts import resolve_version_dir

    models_dir = resolve_version_dir(model_dir).parent.parent
    return f"sqlite:///{models_dir.resolve() / 'events.db'}"


class OnlineMetrics:
    """Events, catalog changes and the answer cache, in the app's metrics registry."""

    def __init__(self, metrics: ServingMetrics) -> None:
        from prometheus_client import Counter, Gauge

        target = None if metrics.multiprocess else metrics.registry
        self.events = Counter(
            "nextbuy_events",
            "Events received by POST /events, by outcome (stored, duplicate, rejected).",
            ["outcome"],
            registry=target,
        )
        self.catalog = Counter(
            "nextbuy_catalog_items",
            "Catalog items written by PUT/POST /items, by kind (changed, new).",
            ["kind"],
            registry=target,
        )
        self.cache = Counter(
            "nextbuy_recommend_cache",
            "Per-user answer cache lookups by result (hit, miss).",
            ["result"],
            registry=target,
        )
        self.hit_ratio = Gauge(
            "nextbuy_recommend_cache_hit_ratio",
            "Share of answer cache lookups served from the cache since the process started.",
            registry=target,
            multiprocess_mode="liveall",
        )
        self.online_users = Gauge(
            "nextbuy_online_users",
            "Users with events since the served model was trained (personalised from them).",
            registry=target,
            multiprocess_mode="liveall",
        )
        self.new_items = Gauge(
            "nextbuy_new_items",
            "Items added after the served model was trained.",
            registry=target,
            multiprocess_mode="liveall",
        )
        self._hit = self.cache.labels("hit")
        self._miss = self.cache.labels("miss")
        self._hits = 0
        self._lookups = 0

    def cache_lookup(self, hit: bool) -> None:
        """Count one lookup (called per request: cached label children, no locks)."""
        self._lookups += 1
        if hit:
            self._hits += 1
            self._hit.inc()
        else:
            self._miss.inc()
        self.hit_ratio.set(self._hits / self._lookups)


class OnlineLayer:
    """Owns the event store; prepares snapshots and applies writes to the service's snapshot.

    * ``prepare`` (given to the service, run at every load) adds the stored catalog changes,
      a fresh history overlay and the fold-in scorer to a new snapshot.
    * ``record_events`` commits a batch, then applies it (and anything else new) before it
      returns, so the acknowledgement means the next answer already reflects it.
    * ``update_items`` commits catalog rows, then swaps in a snapshot with them applied.
    * ``sync`` picks up what other processes wrote (a background thread calls it).
    """

    def __init__(self, settings: ServingSettings, metrics: OnlineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.rules = Rules.from_settings(settings)
        self.store: EventStore | None = None
        self.service: RecommendationService | None = None
        self._items_seen_ms = 0
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def open(self, service: RecommendationService) -> None:
        """Connect to (and migrate) the store; fails loudly, like a missing model."""
        url = self.settings.database_url or default_database_url(self.settings.model_dir)
        self.store = EventStore(url)
        self.service = service
        logger.info("event store: %s", self.store._safe_url())

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def prepare(self, state: ModelState) -> ModelState:
        """A loaded snapshot completed with the store's catalog and histories."""
        store = self._store()
        rows = self._read_items()
        if rows:
            self._items_seen_ms = max(self._items_seen_ms, max(r["updated_at"] for r in rows))
        state = attach_catalog(state, self.rules, rows)
        overlay = HistoryOverlay(
            store,
            Boundary.of(state.artifact.manifest),
            self.settings.event_weights,
            self.settings.purchase_events,
        )
        overlay.catch_up()
        state = dataclasses.replace(state, histories=overlay)
        self._gauges(state)
        return state

    def _store(self) -> EventStore:
        if self.store is None:
            raise StoreUnavailableError(
                "this server records no events (NEXTBUY_ONLINE=false); nothing was stored"
            )
        return self.store

    # ------------------------------------------------------------------ events
    def record_events(self, events: Sequence[Event]) -> StoredCounts:
        """Store a validated batch in one transaction and apply it before returning."""
        store = self._store()
        now = int(time.time())
        rows = [_event_row(e, now) for e in events]
        try:
            counts = store.add_events(rows)
        except StoreError as exc:
            raise StoreUnavailableError(f"{exc}; nothing of the batch was stored, retry") from exc
        if self.metrics is not None:
            self.metrics.events.labels("stored").inc(counts.stored)
            self.metrics.events.labels("duplicate").inc(counts.duplicates)
        if counts.stored:
            self.catch_up()
        return counts

    def catch_up(self) -> None:
        """Apply every stored event the current snapshot's overlay has not seen yet."""
        assert self.service is not None
        while True:
            state = self.service.state
            if state.histories is None:
                return
            state.histories.catch_up()
            if self.service.state.histories is state.histories:  # no reload in between
                break
        if self.metrics is not None:
            self.metrics.online_users.set(len(state.histories.users))

    # ------------------------------------------------------------------ catalog
    def update_items(self, items: Sequence[CatalogItem]) -> dict[str, Any]:
        """Store catalog rows (one transaction) and swap in a snapshot with them applied."""
        store = self._store()
        assert self.service is not None
        with self._write_lock:  # a partial row is completed from the snapshot it reads
            state = self.service.state
            rows = [_item_row(item, state) for item in items]
            try:
                store.upsert_items(rows)
                stored = self._read_items([r["item_id"] for r in rows])
            except Exception as exc:  # SQLAlchemy errors of any kind: nothing was applied
                raise StoreUnavailableError(
                    f"could not store the catalog change ({type(exc).__name__}); retry"
                ) from exc
            if stored:
                newest = max(r["updated_at"] for r in stored)
                self._items_seen_ms = max(self._items_seen_ms, newest)
            before = state.live.n_new if state.live is not None else 0
            new = self.service.update_state(lambda current: apply_catalog(current, stored))
        n_new = (new.live.n_new if new.live is not None else 0) - before
        if self.metrics is not None:
            self.metrics.catalog.labels("new").inc(max(n_new, 0))
            self.metrics.catalog.labels("changed").inc(len(rows) - max(n_new, 0))
        self._gauges(new)
        return {
            "received": len(rows),
            "new_items": max(n_new, 0),
            "catalog_version": new.live.version if new.live is not None else 0,
            "model_version": new.version,
        }

    def _read_items(self, item_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Stored catalog rows: all, or those of ``item_ids`` (read back after a write)."""
        store = self._store()
        out: list[dict[str, Any]] = []
        with store.engine.connect() as conn:
            if item_ids is None:
                result = conn.execute(select(items_table))
                return [dict(row) for row in result.mappings()]
            ids = list(dict.fromkeys(item_ids))
            for start in range(0, len(ids), ID_CHUNK):
                part = ids[start : start + ID_CHUNK]
                stmt = select(items_table).where(items_table.c.item_id.in_(part))
                out.extend(dict(row) for row in conn.execute(stmt).mappings())
        return out

    # ------------------------------------------------------------------ other writers
    def sync(self) -> None:
        """Pick up events and catalog rows other processes stored since the last look."""
        if self.store is None or self.service is None or not self.service.ready:
            return
        self.catch_up()
        since = self._items_seen_ms - ITEMS_LOOKBACK_MS
        with self.store.engine.connect() as conn:
            stmt = select(items_table).where(items_table.c.updated_at >= since)
            rows = [dict(row) for row in conn.execute(stmt).mappings()]
        if not rows:
            return
        self._items_seen_ms = max(self._items_seen_ms, max(r["updated_at"] for r in rows))
        with self._write_lock:
            live = self.service.state.live
            known = {} if live is None else live.stored
            changed = [r for r in rows if known.get(r["item_id"]) != r]
            if changed:
                new = self.service.update_state(lambda current: apply_catalog(current, changed))
                self._gauges(new)

    def follow(self, stop: threading.Event) -> None:
        """Run :meth:`sync` every ``sync_interval_s`` until ``stop`` is set (a daemon thread)."""
        every = self.settings.sync_interval_s
        while not stop.wait(every):
            try:
                self.sync()
            except Exception:  # the store may be down for a while: keep serving, log, retry
                logger.exception("could not sync with the event store")

    def _gauges(self, state: ModelState) -> None:
        if self.metrics is None:
            return
        self.metrics.new_items.set(state.live.n_new if state.live is not None else 0)
        if state.histories is not None:
            self.metrics.online_users.set(len(state.histories.users))


def _event_row(event: Event, now: int) -> dict[str, Any]:
    """The store's row of a validated event (server-made ID and time where none was sent)."""
    ts = event.timestamp
    if ts is None:
        seconds = now
    elif isinstance(ts, int):
        seconds = ts
    else:
        seconds = int(ts.timestamp())
    return {
        "event_id": event.event_id or f"srv-{uuid.uuid4().hex}",
        "user_id": event.user_id,
        "item_id": event.item_id,
        "event": event.event,
        "value": 1.0 if event.value is None else float(event.value),
        "timestamp": seconds,
    }


def _item_row(item: CatalogItem, state: ModelState) -> dict[str, Any]:
    """The store's row of a catalog change: only the fields sent, plus the stock flag of a
    trained item the store has no row for yet (the store's default would say "in stock")."""
    row: dict[str, Any] = item.model_dump(exclude_none=True)
    live = state.live
    first_touch = live is None or item.item_id not in live.stored
    if first_touch and "in_stock" not in row:
        i = state.artifact.item_map.index_of(item.item_id)
        if i >= 0 and state.filters.in_stock is not None and not state.filters.in_stock[i]:
            row["in_stock"] = False
    return row


def event_weights_error(event: str, weights: Mapping[str, float]) -> str | None:
    """Why an event type is refused (None when it is known)."""
    if event == "rating" or event in weights:
        return None
    return f"unknown event type {event!r}; expected rating or one of {', '.join(sorted(weights))}"
