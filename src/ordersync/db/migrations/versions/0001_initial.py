"""0001: ordersync's tables as first released.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Table names come from the configuration (``TablesConfig``), handed over by ``migrate.upgrade``.
Later shape changes go into new numbered revisions; tables only ever gain columns.
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.db.types import LONG_TEXT
from ordersync.settings import TablesConfig

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    n = _names()
    op.create_table(
        n.item_errors,
        sa.Column("err_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("stg_id", sa.String(length=36), nullable=True),
        sa.Column("order_key", sa.Unicode(length=450), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("message", LONG_TEXT, nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("retryable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("resolved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("err_id"),
    )
    op.create_index(f"ix_{n.item_errors}_batch", n.item_errors, ["batch_id"], unique=False)
    op.create_table(
        n.subitem_errors,
        sa.Column("err_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("stg_id", sa.String(length=36), nullable=True),
        sa.Column("order_key", sa.Unicode(length=450), nullable=True),
        sa.Column("size_label", sa.Unicode(length=100), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("message", LONG_TEXT, nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("retryable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("resolved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("err_id"),
    )
    op.create_index(f"ix_{n.subitem_errors}_batch", n.subitem_errors, ["batch_id"], unique=False)
    op.create_table(
        n.batches,
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("customer", sa.Unicode(length=200), nullable=True),
        sa.Column("po_number", sa.Unicode(length=200), nullable=True),
        sa.Column("season", sa.Unicode(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("staged_at", sa.DateTime(), nullable=True),
        sa.Column("items_completed_at", sa.DateTime(), nullable=True),
        sa.Column("subitems_completed_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("planned_items", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("planned_subitems", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("items_created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("items_updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("items_archived", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("items_adopted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("items_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subitems_created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subitems_updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subitems_archived", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subitems_adopted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subitems_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("requests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("retries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.Column("config_snapshot", LONG_TEXT, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_index(f"ix_{n.batches}_board_status", n.batches, ["board_id", "status"], unique=False)
    op.create_table(
        n.items,
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=False),
        sa.Column("monday_item_id", sa.BigInteger(), nullable=False),
        sa.Column("item_name", LONG_TEXT, nullable=True),
        sa.Column("group_id", sa.Unicode(length=100), nullable=True),
        sa.Column("group_title", sa.Unicode(length=255), nullable=True),
        sa.Column("column_values", LONG_TEXT, nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("customer", sa.Unicode(length=200), nullable=True),
        sa.Column("po_number", sa.Unicode(length=200), nullable=True),
        sa.Column("season", sa.Unicode(length=200), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("monday_values", LONG_TEXT, nullable=True),
        sa.Column("pulled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("board_id", "order_key"),
    )
    op.create_index(f"ix_{n.items}_item_id", n.items, ["monday_item_id"], unique=False)
    op.create_index(
        f"ix_{n.items}_scope", n.items, ["board_id", "customer", "po_number"], unique=False
    )
    op.create_table(
        n.subitems,
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=False),
        sa.Column("size_label", sa.Unicode(length=100), nullable=False),
        sa.Column("monday_subitem_id", sa.BigInteger(), nullable=False),
        sa.Column("monday_parent_item_id", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("monday_values", LONG_TEXT, nullable=True),
        sa.Column("pulled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("board_id", "order_key", "size_label"),
    )
    op.create_index(f"ix_{n.subitems}_subitem_id", n.subitems, ["monday_subitem_id"], unique=False)
    op.create_table(
        n.journal,
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("aliases", LONG_TEXT, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index(f"ix_{n.journal}_board_state", n.journal, ["board_id", "state"], unique=False)
    op.create_table(
        n.locks,
        sa.Column("board_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("board_id"),
    )
    op.create_table(
        n.staged_items,
        sa.Column("stg_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=False),
        sa.Column("item_name", LONG_TEXT, nullable=True),
        sa.Column("group_title", sa.Unicode(length=255), nullable=True),
        sa.Column("column_values", LONG_TEXT, nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("customer", sa.Unicode(length=200), nullable=True),
        sa.Column("po_number", sa.Unicode(length=200), nullable=True),
        sa.Column("season", sa.Unicode(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("monday_item_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("stg_id"),
    )
    op.create_index(
        f"ix_{n.staged_items}_batch_status", n.staged_items, ["batch_id", "status"], unique=False
    )
    op.create_table(
        n.staged_subitems,
        sa.Column("stg_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("parent_stg_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("order_key", sa.Unicode(length=450), nullable=False),
        sa.Column("size_label", sa.Unicode(length=100), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=True),
        sa.Column("column_values", LONG_TEXT, nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("monday_parent_item_id", sa.BigInteger(), nullable=True),
        sa.Column("monday_subitem_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("stg_id"),
    )
    op.create_index(
        f"ix_{n.staged_subitems}_batch_status",
        n.staged_subitems,
        ["batch_id", "status"],
        unique=False,
    )
    op.create_index(
        f"ix_{n.staged_subitems}_parent", n.staged_subitems, ["parent_stg_id"], unique=False
    )


def downgrade() -> None:
    n = _names()
    op.drop_table(n.locks)
    op.drop_table(n.journal)
    op.drop_table(n.subitem_errors)
    op.drop_table(n.item_errors)
    op.drop_table(n.subitems)
    op.drop_table(n.items)
    op.drop_table(n.staged_subitems)
    op.drop_table(n.staged_items)
    op.drop_table(n.batches)
