"""Tables for stored interactions and catalog items (the Alembic migrations mirror them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from nextbuy.data.datasets import DEFAULT_DATASET

metadata = MetaData()

#: One row per accepted event; ``event_id`` makes retried posts idempotent.
events_table = Table(
    "nextbuy_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("dataset", String(128), nullable=False, server_default=DEFAULT_DATASET),
    Column("event_id", String(128), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("item_id", String(256), nullable=False),
    Column("event", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_nextbuy_events_user", "user_id", "timestamp"),
    Index("ix_nextbuy_events_received", "received_at"),
    Index("ux_nextbuy_events_dataset_event", "dataset", "event_id", unique=True),
    Index("ix_nextbuy_events_dataset_id", "dataset", "id"),
)

#: The live catalog: what was added or changed after training, and visibility flags.
items_table = Table(
    "nextbuy_items",
    metadata,
    Column("dataset", String(128), primary_key=True, server_default=DEFAULT_DATASET),
    Column("item_id", String(256), primary_key=True),
    Column("name", Text, nullable=True),
    Column("brand", String(256), nullable=True),
    Column("category", String(256), nullable=True),
    Column("price", Float, nullable=True),
    Column("in_stock", Boolean, nullable=False, default=True),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("updated_at", BigInteger, nullable=False),
)
