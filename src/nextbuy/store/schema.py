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
    # the list the event came from (attribution), when the client sent it back
    Column("recommendation_id", String(64), nullable=True),
    Column("position", Integer, nullable=True),
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

#: A/B tests: variants (JSON), split, eligibility, schedule; shared by every worker and replica.
experiments_table = Table(
    "nextbuy_experiments",
    metadata,
    Column("experiment_id", String(64), primary_key=True),
    Column("dataset", String(128), nullable=False, server_default=DEFAULT_DATASET),
    Column("variants", Text, nullable=False),
    Column("eligible", String(16), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=True),
    Column("stopped_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

#: One row per item shown in a served list (the impressions attribution joins against).
impressions_table = Table(
    "nextbuy_impressions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("dataset", String(128), nullable=False, server_default=DEFAULT_DATASET),
    Column("recommendation_id", String(64), nullable=False),
    Column("experiment_id", String(64), nullable=True),
    Column("variant", String(64), nullable=True),
    Column("user_id", String(256), nullable=False),
    Column("item_id", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    Column("served_at", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Index("ix_nextbuy_impressions_rec", "recommendation_id"),
    Index("ix_nextbuy_impressions_exp", "experiment_id", "variant"),
    Index("ix_nextbuy_impressions_user_item", "dataset", "user_id", "item_id", "served_at"),
)
