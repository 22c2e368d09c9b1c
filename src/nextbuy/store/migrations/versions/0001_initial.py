"""Initial schema: events and catalog items.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nextbuy_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_nextbuy_events_user", "nextbuy_events", ["user_id", "timestamp"])
    op.create_index("ix_nextbuy_events_received", "nextbuy_events", ["received_at"])
    op.create_table(
        "nextbuy_items",
        sa.Column("item_id", sa.String(256), primary_key=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("brand", sa.String(256), nullable=True),
        sa.Column("category", sa.String(256), nullable=True),
        sa.Column("price", sa.Float, nullable=True),
        sa.Column("in_stock", sa.Boolean, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nextbuy_items")
    op.drop_index("ix_nextbuy_events_received", "nextbuy_events")
    op.drop_index("ix_nextbuy_events_user", "nextbuy_events")
    op.drop_table("nextbuy_events")
