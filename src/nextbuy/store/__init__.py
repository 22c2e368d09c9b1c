"""Durable event and catalog store (SQLAlchemy 2; SQLite by default, PostgreSQL by URL).

The store owns its SQL: other packages call :class:`EventStore` methods, never the tables.
"""

from nextbuy.store.events import EventStore, StoredCounts, StoreError, StoreLimits

__all__ = ["EventStore", "StoreError", "StoreLimits", "StoredCounts"]
