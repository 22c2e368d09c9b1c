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
from nextbuy.serving.storehealth import StoreHealth
from nextbuy.store import EventStore, StoredCounts, StoreError, StoreLimits

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
        self.health = StoreHealth(settings.store_retry_s)
        self._migrated = False
        self._signal_seen: tuple[int, int] | None = None

    # ------------------------------------------------------------------ lifecycle
    def open(self, service: RecommendationService) -> None:
        """Build the store's engine and migrate; an unreachable store only degrades the server
        (a bad URL still fails loudly, like a missing model)."""
        url = self.settings.database_url or default_database_url(self.settings.model_dir)
        self.store = EventStore(
            url,
            migrate=False,
            limits=store_limits(self.settings),
            dataset=deployment_dataset(self.settings),
        )
        self.service = service
        logger.info("event store: %s", self.store.safe_url)
        self._signal_seen = _signal_stamp(self.settings.catalog_signal)
        self._migrate()

    def _migrate(self) -> bool:
        """Bring the schema up to date once; False (and the store marked down) if unreachable."""
        for attempt in range(2):  # a sibling worker migrating at the same moment: try again
            if self._migrated:
                break
            try:
                self._store().migrate()
            except StoreError as exc:
                raced = any(word in str(exc) for word in ("already exists", "locked"))
                if attempt == 1 or not raced:  # unreachable: no second connect timeout
                    self.health.failed("migrating", exc)
                    return False
                time.sleep(0.2)
            else:
                self._migrated = True
        return True

    def load_first(self) -> None:
        """The first load: with the store's state, or from the model alone while it is down
        (answers say the online state is stale until :meth:`recover` succeeds)."""
        assert self.service is not None
        try:
            if not self._migrated:
                raise StoreUnavailableError("the event store is unreachable")
            self.service.load()
        except StoreUnavailableError:
            self.service.load(prepare=self.prepare_offline)
            self.health.snapshot_stale = True
            logger.warning("serving the model without the event store's state until it answers")

    def prepare_offline(self, snapshot: Snapshot) -> Snapshot:
        """A loaded snapshot with the rules and the trained catalog only (store down)."""
        return attach_catalog(snapshot, self.rules, [])

    def recover(self) -> bool:
        """Try the store again after start-up or a reload while it was down: migrate, then
        re-prepare the served model with its state. True once the state is current."""
        if not self.health.snapshot_stale:
            return True
        if not self.health.should_try() or not self._migrate():
            return False
        assert self.service is not None
        try:
            self.service.refresh()
        except StoreUnavailableError as exc:
            self.health.failed("recovering", exc.__cause__ or exc)
            return False
        self.health.snapshot_stale = False
        self.health.succeeded()
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def prepare(self, snapshot: Snapshot) -> Snapshot:
        """A loaded snapshot completed with the store's catalog and histories; a store that
        cannot be read raises :class:`StoreUnavailableError` (the old snapshot keeps serving)."""
        store = self._store()
        check_same_dataset(snapshot.artifact.manifest, store.dataset, snapshot.version)
        try:
            rows = store.items()
            overlay = HistoryOverlay(
                store,
                Boundary.of(snapshot.artifact.manifest),
                self.settings.event_weights,
                self.settings.purchase_events,
            )
            overlay.catch_up()
        except Exception as exc:  # SQLAlchemy errors of any kind: the store is not readable
            self.health.failed("loading the online state", exc)
            raise StoreUnavailableError(
                "the event store is unreachable, so the new model cannot get its online state; "
                "the current model keeps serving, retry"
            ) from exc
        self.health.succeeded()
        if rows:
            self._items_seen_ms = max(self._items_seen_ms, max(r["updated_at"] for r in rows))
        snapshot = attach_catalog(snapshot, self.rules, rows)
        snapshot = dataclasses.replace(snapshot, histories=overlay)
        self._gauges(snapshot)
        return snapshot

    def _writable(self) -> EventStore:
        """The store, unless it is known to be down (fail fast: 503 with ``Retry-After``)."""
        store = self._store()
        if not self.health.should_try():
            raise StoreUnavailableError(
                "the event store is unreachable; nothing was stored, retry shortly"
            )
        return store

    def _store(self) -> EventStore:
        if self.store is None:
            raise StoreUnavailableError(
                "this server records no events (NEXTBUY_ONLINE=false); nothing was stored"
            )
        return self.store

    # ------------------------------------------------------------------ events
    def record_events(self, events: Sequence[Event]) -> StoredCounts:
        """Store a validated batch in one transaction and apply it before returning."""
        store = self._writable()
        now = int(time.time())
        rows = [_event_row(e, now) for e in events]
        try:
            counts = store.add_events(rows)
        except StoreError as exc:  # the details (driver, host, table) go to the log only
            self.health.failed("storing events", exc)
            raise StoreUnavailableError(
                "the event store is unavailable; nothing of the batch was stored, retry"
            ) from exc
        self.health.succeeded()
        if self.health.snapshot_stale:  # the store is back: serve its state from now on
            self.recover()
        if self.metrics is not None:
            self.metrics.events.labels("stored").inc(counts.stored)
            self.metrics.events.labels("duplicate").inc(counts.duplicates)
        if counts.stored:
            try:  # committed: applying it now is best effort, the sync thread catches up later
                self.catch_up()
            except Exception:
                logger.exception("stored %d events but could not apply them yet", counts.stored)
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
        store = self._writable()
        assert self.service is not None
        with self._write_lock:  # a partial row is completed from the snapshot it reads
            snapshot = self.service.snapshot
            rows = [_item_row(item, snapshot) for item in items]
            try:
                store.upsert_items(rows)
                stored = store.items([r["item_id"] for r in rows])
            except Exception as exc:  # SQLAlchemy errors of any kind: nothing was applied
                self.health.failed("storing catalog rows", exc)
                raise StoreUnavailableError("could not store the catalog change; retry") from exc
            self.health.succeeded()
            if stored:
                newest = max(r["updated_at"] for r in stored)
                self._items_seen_ms = max(self._items_seen_ms, newest)
            before = snapshot.live.n_new if snapshot.live is not None else 0
            new = self.service.update_snapshot(lambda current: apply_catalog(current, stored))
        _touch(self.settings.catalog_signal)
        if self.health.snapshot_stale:  # the store is back: serve its state from now on
            new = self.service.snapshot if self.recover() else new
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
        self.sync_catalog()

    def sync_catalog(self) -> None:
        """Apply catalog rows other processes stored since the last look."""
        assert self.store is not None and self.service is not None
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

    def before_read(self) -> None:
        """Bring this worker up to date before a personal answer (several workers): events
        any worker stored, and catalog changes a sibling announced through the signal file.
        Never raises and never waits for a store known to be down: the answer then comes from
        the model and the last synced state, marked stale."""
        if self.store is None or self.service is None or not self.health.should_try():
            return
        if self.health.snapshot_stale:  # nothing synced yet: the background thread recovers
            return
        stamp = _signal_stamp(self.settings.catalog_signal)
        try:
            self.catch_up()
            if stamp != self._signal_seen:  # a sibling changed the catalog: apply it now
                self.sync_catalog()
                self._signal_seen = stamp
        except Exception as exc:  # the store went away: answer from what this worker has
            self.health.failed("reading", exc)
            return
        self.health.succeeded()

    def follow(self, stop: threading.Event) -> None:
        """Run :meth:`sync` every ``sync_interval_s`` until ``stop`` is set (a daemon thread);
        while the store is down, try it every ``store_retry_s`` instead (0: only that)."""
        interval = self.settings.sync_interval_s
        while not stop.wait(min(interval or self.health.retry_s, self.health.retry_s)):
            if self.health.snapshot_stale:
                self.recover()
                continue
            if interval == 0 or not self.health.should_try():
                continue
            try:
                self.sync()
            except Exception as exc:  # the store may be down for a while: keep serving, retry
                self.health.failed("syncing", exc)
                continue
            self.health.succeeded()

    def _gauges(self, snapshot: Snapshot) -> None:
        if self.metrics is None:
            return
        self.metrics.new_items.set(snapshot.live.n_new if snapshot.live is not None else 0)
        if snapshot.histories is not None:
            self.metrics.online_users.set(len(snapshot.histories.users))


def store_limits(settings: ServingSettings) -> StoreLimits:
    """The store's timeouts and pool bound from the serving settings."""
    return StoreLimits(
        connect_timeout_s=settings.store_connect_timeout_s,
        statement_timeout_s=settings.store_statement_timeout_s,
        pool_size=settings.store_pool_size,
        pool_timeout_s=settings.store_pool_timeout_s,
    )


def _signal_stamp(signal: Path | None) -> tuple[int, int] | None:
    """What the catalog signal file looks like now (size grows by one per catalog write)."""
    if signal is None:
        return None
    try:
        st = signal.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _touch(signal: Path | None) -> None:
    """Announce a catalog write to sibling workers: append one byte to the signal file."""
    if signal is None:
        return
    try:
        with open(signal, "ab") as fh:
            fh.write(b".")
    except OSError:
        logger.warning("could not touch the catalog signal %s", signal)


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
