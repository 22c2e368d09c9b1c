"""A/B tests (issue 14): experiments, served-list impressions, and the recommendation each
event came from (``recommendation_id``, ``position``) for attribution.

Revision ID: 0003_experiments
Revises: 0002_dataset
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_experiments"
down_revision = "0002_dataset"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
        autoincrement=True,
    )  # fmt: skip


def upgrade() -> None:
    op.add_column("nextbuy_events", sa.Column("recommendation_id", sa.String(64), nullable=True))
    op.add_column("nextbuy_events", sa.Column("position", sa.Integer, nullable=True))
    op.create_table(
        "nextbuy_experiments",
        sa.Column("experiment_id", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(128), nullable=False, server_default="default"),
        sa.Column("variants", sa.Text, nullable=False),
        sa.Column("eligible", sa.String(16), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=True),
        sa.Column("stopped_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "nextbuy_impressions",
        _id(),
        sa.Column("dataset", sa.String(128), nullable=False, server_default="default"),
        sa.Column("recommendation_id", sa.String(64), nullable=False),
        sa.Column("experiment_id", sa.String(64), nullable=True),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("served_at", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
    )
    op.create_index("ix_nextbuy_impressions_rec", "nextbuy_impressions", ["recommendation_id"])
    op.create_index(
        "ix_nextbuy_impressions_exp", "nextbuy_impressions", ["experiment_id", "variant"]
    )
    op.create_index(
        "ix_nextbuy_impressions_user_item", "nextbuy_impressions",
        ["dataset", "user_id", "item_id", "served_at"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("nextbuy_impressions")
    op.drop_table("nextbuy_experiments")
    op.drop_column("nextbuy_events", "position")
    op.drop_column("nextbuy_events", "recommendation_id")
