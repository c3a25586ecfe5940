"""0002: change detection (scan table, planned counts per action) and pulling back from monday
(typed pulled values, the change log, received webhook events).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.db.types import LONG_TEXT
from ordersync.settings import TablesConfig

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_COUNTERS = (
    "planned_item_updates",
    "planned_item_archives",
    "planned_subitem_updates",
    "planned_subitem_archives",
)


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    n = _names()
    op.create_table(
        n.pulled_values,
        sa.Column("board_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("monday_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("column_id", sa.String(length=64), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=True),
        sa.Column("size_label", sa.Unicode(length=100), nullable=True),
        sa.Column("title", sa.Unicode(length=255), nullable=True),
        sa.Column("text_value", LONG_TEXT, nullable=True),
        sa.Column("number_value", sa.Numeric(precision=28, scale=6), nullable=True),
        sa.Column("date_value", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("pulled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("board_id", "monday_id", "column_id"),
    )
    op.create_index(
        f"ix_{n.pulled_values}_key", n.pulled_values, ["board_id", "order_key"], unique=False
    )
    op.create_table(
        n.scan,
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("line", LONG_TEXT, nullable=False),
    )
    op.create_index(f"ix_{n.scan}_batch_key", n.scan, ["batch_id", "order_key"], unique=False)
    op.create_table(
        n.value_changes,
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("monday_id", sa.BigInteger(), nullable=False),
        sa.Column("column_id", sa.String(length=64), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=True),
        sa.Column("size_label", sa.Unicode(length=100), nullable=True),
        sa.Column("old_text", LONG_TEXT, nullable=True),
        sa.Column("new_text", LONG_TEXT, nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("change_id"),
    )
    op.create_index(
        f"ix_{n.value_changes}_item", n.value_changes, ["board_id", "monday_id"], unique=False
    )
    op.create_table(
        n.webhook_events,
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.PrimaryKeyConstraint("event_key"),
    )
    op.create_index(
        f"ix_{n.webhook_events}_pending", n.webhook_events, ["applied_at"], unique=False
    )

    with op.batch_alter_table(n.batches) as batch:
        for name in NEW_COUNTERS:
            batch.add_column(
                sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            )


def downgrade() -> None:
    n = _names()
    with op.batch_alter_table(n.batches) as batch:
        for name in NEW_COUNTERS:
            batch.drop_column(name)
    for table in (n.webhook_events, n.value_changes, n.scan, n.pulled_values):
        op.drop_table(table)
