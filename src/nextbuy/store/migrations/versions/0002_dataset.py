"""Scope events and catalog rows to a data set (issue 11.4); existing rows join ``default``.

Revision ID: 0002_dataset
Revises: 0001

Events become unique per (dataset, event_id) and catalog rows are keyed by (dataset, item_id).
PostgreSQL alters the tables in place; SQLite copies each table into a new one (its way of
changing keys), keeping every row and every event ``id`` (manifests refer to them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_dataset"
down_revision = "0001"
branch_labels = None
depends_on = None

DEFAULT = "default"
_EVENT_COLS = "id, event_id, user_id, item_id, event, value, timestamp, received_at"
_ITEM_COLS = "item_id, name, brand, category, price, in_stock, hidden, deleted, updated_at"


def _dataset_column() -> sa.Column:
    return sa.Column("dataset", sa.String(128), nullable=False, server_default=DEFAULT)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_copy()
    op.create_index(
        "ux_nextbuy_events_dataset_event", "nextbuy_events", ["dataset", "event_id"], unique=True
    )
    op.create_index("ix_nextbuy_events_dataset_id", "nextbuy_events", ["dataset", "id"])


def _upgrade_postgresql() -> None:
    inspector = sa.inspect(op.get_bind())
    op.add_column("nextbuy_events", _dataset_column())
    for unique in inspector.get_unique_constraints("nextbuy_events"):
        if unique["column_names"] == ["event_id"] and unique["name"]:
            op.drop_constraint(unique["name"], "nextbuy_events", type_="unique")
    op.add_column("nextbuy_items", _dataset_column())
    pk = inspector.get_pk_constraint("nextbuy_items")["name"] or "nextbuy_items_pkey"
    op.drop_constraint(pk, "nextbuy_items", type_="primary")
    op.create_primary_key("nextbuy_items_pkey", "nextbuy_items", ["dataset", "item_id"])


def _upgrade_copy() -> None:
    """SQLite: new tables with the new keys, rows copied over, old tables dropped."""
    op.create_table(
        "nextbuy_events_new",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _dataset_column(),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.execute(
        f"INSERT INTO nextbuy_events_new ({_EVENT_COLS}, dataset) "
        f"SELECT {_EVENT_COLS}, '{DEFAULT}' FROM nextbuy_events"
    )
    op.drop_index("ix_nextbuy_events_received", "nextbuy_events")
    op.drop_index("ix_nextbuy_events_user", "nextbuy_events")
    op.drop_table("nextbuy_events")
    op.rename_table("nextbuy_events_new", "nextbuy_events")
    op.create_index("ix_nextbuy_events_user", "nextbuy_events", ["user_id", "timestamp"])
    op.create_index("ix_nextbuy_events_received", "nextbuy_events", ["received_at"])
    op.create_table(
        "nextbuy_items_new",
        _dataset_column(),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("brand", sa.String(256), nullable=True),
        sa.Column("category", sa.String(256), nullable=True),
        sa.Column("price", sa.Float, nullable=True),
        sa.Column("in_stock", sa.Boolean, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("dataset", "item_id", name="nextbuy_items_pkey"),
    )
    op.execute(
        f"INSERT INTO nextbuy_items_new ({_ITEM_COLS}, dataset) "
        f"SELECT {_ITEM_COLS}, '{DEFAULT}' FROM nextbuy_items"
    )
    op.drop_table("nextbuy_items")
    op.rename_table("nextbuy_items_new", "nextbuy_items")


def downgrade() -> None:
    raise NotImplementedError("0002_dataset cannot be undone without merging data sets")
