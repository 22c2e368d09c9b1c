"""Durable event and catalog store (SQLAlchemy 2; SQLite by default, PostgreSQL by URL)."""

from nextbuy.store.events import EventStore, StoredCounts
from nextbuy.store.schema import events_table, items_table, metadata

__all__ = ["EventStore", "StoredCounts", "events_table", "items_table", "metadata"]
