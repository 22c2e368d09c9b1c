"""The online layer: the event store behind ``/events`` and catalog writes, kept in step with
the served model (histories since training, catalog changes, new items) and with other
processes writing to the same store."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nextbuy.data.datasets import check_dataset_name, dataset_of, mixing_error
from nextbuy.serving.catalog import apply_catalog, attach_catalog
from nextbuy.serving.errors import StoreUnavailableError
from nextbuy.serving.history import Boundary, HistoryOverlay
from nextbuy.serving.live import Rules
from nextbuy.store import EventStore, StoredCounts, StoreError

if TYPE_CHECKING:
    from nextbuy.serving.metrics import OnlineMetrics
    from nextbuy.serving.schemas.catalog import CatalogItem
    from nextbuy.serving.schemas.events import Event
    from nextbuy.serving.service import RecommendationService
    from nextbuy.serving.settings import ServingSettings
    from nextbuy.serving.snapshot import Snapshot

logger = logging.getLogger("nextbuy.serving")

#: Catalog rows written by another process are picked up when changed this recently (ms);
#: rows already applied with the same values are skipped, so re-reading them costs nothing.
ITEMS_LOOKBACK_MS = 5_000


def default_database_url(model_dir: Path) -> str:
    """``MODELS_DIR/events.db`` for ``MODELS_DIR/NAME`` or a version folder inside it."""
    from nextbuy.artifacts import resolve_version_dir

    models_dir = resolve_version_dir(model_dir).parent.parent
    return f"sqlite:///{models_dir.resolve() / 'events.db'}"


def deployment_dataset(settings: ServingSettings) -> str:
    """The data set this server serves: the one set, else the served model's; a model of
    another data set than the one set is refused (events never mix)."""
    from nextbuy.artifacts import read_manifest, resolve_version_dir

    version_dir = resolve_version_dir(settings.model_dir)
    manifest = read_manifest(version_dir)
    own = dataset_of(manifest)
    if settings.dataset is None:
        return own
    check_same_dataset(manifest, check_dataset_name(settings.dataset), version_dir.name)
    return settings.dataset


def check_same_dataset(manifest: dict[str, Any], dataset: str, version: str) -> None:
    """Refuse a model trained on another data set than the deployment's."""
    own = dataset_of(manifest)
    if own != dataset:
        raise mixing_error(f"model {version}", own, dataset, "this deployment (NEXTBUY_DATASET)")


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
        self.store = EventStore(url, dataset=deployment_dataset(self.settings))
        self.service = service
        logger.info("event store: %s", self.store.safe_url)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def prepare(self, snapshot: Snapshot) -> Snapshot:
        """A loaded snapshot completed with the store's catalog and histories."""
        store = self._store()
        check_same_dataset(snapshot.artifact.manifest, store.dataset, snapshot.version)
        rows = store.items()
        if rows:
            self._items_seen_ms = max(self._items_seen_ms, max(r["updated_at"] for r in rows))
        snapshot = attach_catalog(snapshot, self.rules, rows)
        overlay = HistoryOverlay(
            store,
            Boundary.of(snapshot.artifact.manifest),
            self.settings.event_weights,
            self.settings.purchase_events,
        )
        overlay.catch_up()
        snapshot = dataclasses.replace(snapshot, histories=overlay)
        self._gauges(snapshot)
        return snapshot

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

    def rejected(self, n: int) -> None:
        """Count the ``n`` events of a refused batch."""
        if self.metrics is not None:
            self.metrics.events.labels("rejected").inc(n)

    def catch_up(self) -> None:
        """Apply every stored event the current snapshot's overlay has not seen yet."""
        assert self.service is not None
        while True:
            snapshot = self.service.snapshot
            if snapshot.histories is None:
                return
            snapshot.histories.catch_up()
            if self.service.snapshot.histories is snapshot.histories:  # no reload in between
                break
        if self.metrics is not None:
            self.metrics.online_users.set(len(snapshot.histories.users))

    # ------------------------------------------------------------------ catalog
    def update_items(self, items: Sequence[CatalogItem]) -> dict[str, Any]:
        """Store catalog rows (one transaction) and swap in a snapshot with them applied."""
        store = self._store()
        assert self.service is not None
        with self._write_lock:  # a partial row is completed from the snapshot it reads
            snapshot = self.service.snapshot
            rows = [_item_row(item, snapshot) for item in items]
            try:
                store.upsert_items(rows)
                stored = store.items([r["item_id"] for r in rows])
            except Exception as exc:  # SQLAlchemy errors of any kind: nothing was applied
                raise StoreUnavailableError(
                    f"could not store the catalog change ({type(exc).__name__}); retry"
                ) from exc
            if stored:
                newest = max(r["updated_at"] for r in stored)
                self._items_seen_ms = max(self._items_seen_ms, newest)
            before = snapshot.live.n_new if snapshot.live is not None else 0
            new = self.service.update_snapshot(lambda current: apply_catalog(current, stored))
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

    # ------------------------------------------------------------------ other writers
    def sync(self) -> None:
        """Pick up events and catalog rows other processes stored since the last look."""
        if self.store is None or self.service is None or not self.service.ready:
            return
        self.catch_up()
        rows = self.store.items_updated_since(self._items_seen_ms - ITEMS_LOOKBACK_MS)
        if not rows:
            return
        self._items_seen_ms = max(self._items_seen_ms, max(r["updated_at"] for r in rows))
        with self._write_lock:
            live = self.service.snapshot.live
            known = {} if live is None else live.stored
            changed = [r for r in rows if known.get(r["item_id"]) != r]
            if changed:
                new = self.service.update_snapshot(lambda current: apply_catalog(current, changed))
                self._gauges(new)

    def follow(self, stop: threading.Event) -> None:
        """Run :meth:`sync` every ``sync_interval_s`` until ``stop`` is set (a daemon thread)."""
        every = self.settings.sync_interval_s
        while not stop.wait(every):
            try:
                self.sync()
            except Exception:  # the store may be down for a while: keep serving, log, retry
                logger.exception("could not sync with the event store")

    def _gauges(self, snapshot: Snapshot) -> None:
        if self.metrics is None:
            return
        self.metrics.new_items.set(snapshot.live.n_new if snapshot.live is not None else 0)
        if snapshot.histories is not None:
            self.metrics.online_users.set(len(snapshot.histories.users))


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
        "recommendation_id": event.recommendation_id,
        "position": event.position,
    }


def _item_row(item: CatalogItem, snapshot: Snapshot) -> dict[str, Any]:
    """The store's row of a catalog change: only the fields sent, plus the stock flag of a
    trained item the store has no row for yet (the store's default would say "in stock")."""
    row: dict[str, Any] = item.model_dump(exclude_none=True)
    live = snapshot.live
    first_touch = live is None or item.item_id not in live.stored
    if first_touch and "in_stock" not in row:
        i = snapshot.artifact.item_map.index_of(item.item_id)
        if i >= 0 and snapshot.filters.in_stock is not None and not snapshot.filters.in_stock[i]:
            row["in_stock"] = False
    return row
