"""ordersync's own tables, as SQLAlchemy Core metadata (the current shape; migrations build it).

Names come from ``TablesConfig`` (defaults follow the original system). Types are chosen so
every table compiles for SQLite, PostgreSQL and SQL Server: keys are ``NVARCHAR(450)`` at most
(SQL Server's index key limit), monday ids are ``BIGINT``, JSON documents are ``NVARCHAR(MAX)``
text, timestamps are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ordersync.batch_counters import COUNTERS
from ordersync.db.types import LONG_TEXT
from ordersync.settings import TablesConfig

KEY = sa.Unicode(450)
ID = sa.String(36)
SCOPE = sa.Unicode(200)
HASH = sa.String(64)
STATE = sa.String(32)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    ]


def _counter(name: str, type_: type[sa.Integer] = sa.Integer) -> sa.Column:
    return sa.Column(name, type_, nullable=False, server_default=sa.text("0"))


PULL_COUNTERS = (
    "items_read",
    "subitems_read",
    "values_changed",
    "drifted",
    "unknown_items",
    "unknown_subitems",
    "missing_items",
    "missing_subitems",
)

BATCH_STAGE_TIMESTAMPS = (
    "created_at",
    "staged_at",
    "items_completed_at",
    "subitems_completed_at",
    "completed_at",
)


@dataclass(frozen=True)
class Tables:
    """Every table ordersync owns, bound to one ``MetaData``."""

    metadata: sa.MetaData
    batches: sa.Table
    staged_items: sa.Table
    staged_subitems: sa.Table
    items: sa.Table
    subitems: sa.Table
    item_errors: sa.Table
    subitem_errors: sa.Table
    journal: sa.Table
    locks: sa.Table
    scan: sa.Table
    pulled_values: sa.Table
    value_changes: sa.Table
    webhook_events: sa.Table
    pull_runs: sa.Table
    bulk_jobs: sa.Table


def build_tables(names: TablesConfig | None = None) -> Tables:
    """Describe ordersync's tables under the configured names."""
    names = names or TablesConfig()
    md = sa.MetaData()
    batches = sa.Table(
        names.batches,
        md,
        sa.Column("batch_id", ID, primary_key=True),
        sa.Column("board_id", sa.BigInteger, nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("customer", SCOPE),
        sa.Column("po_number", SCOPE),
        sa.Column("season", SCOPE),
        sa.Column("status", STATE, nullable=False),
        *(sa.Column(name, sa.DateTime) for name in BATCH_STAGE_TIMESTAMPS[1:]),
        *(_counter(c.column, sa.BigInteger if c.big else sa.Integer) for c in COUNTERS),
        sa.Column("error", LONG_TEXT),
        sa.Column("config_snapshot", LONG_TEXT),
        *_timestamps(),
        sa.Index(f"ix_{names.batches}_board_status", "board_id", "status"),
    )
    staged_items = sa.Table(
        names.staged_items,
        md,
        sa.Column("stg_id", ID, primary_key=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("order_key", KEY, nullable=False),
        sa.Column("item_name", LONG_TEXT),
        sa.Column("group_title", sa.Unicode(255)),
        sa.Column("column_values", LONG_TEXT),
        sa.Column("row_hash", HASH),
        sa.Column("customer", SCOPE),
        sa.Column("po_number", SCOPE),
        sa.Column("season", SCOPE),
        sa.Column("status", STATE, nullable=False),
        sa.Column("monday_item_id", sa.BigInteger),
        sa.Column("request_id", ID),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", LONG_TEXT),
        *_timestamps(),
        sa.Column("raw_digest", HASH),  # raw_digest.py: the mirror takes it with the row hash
        sa.Index(f"ix_{names.staged_items}_batch_status", "batch_id", "status"),
    )
    staged_subitems = sa.Table(
        names.staged_subitems,
        md,
        sa.Column("stg_id", ID, primary_key=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("parent_stg_id", ID),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("order_key", KEY, nullable=False),
        sa.Column("size_label", sa.Unicode(100), nullable=False),
        sa.Column("qty", sa.Integer),
        sa.Column("column_values", LONG_TEXT),
        sa.Column("row_hash", HASH),
        sa.Column("status", STATE, nullable=False),
        sa.Column("monday_parent_item_id", sa.BigInteger),
        sa.Column("monday_subitem_id", sa.BigInteger),
        sa.Column("request_id", ID),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", LONG_TEXT),
        *_timestamps(),
        sa.Index(f"ix_{names.staged_subitems}_batch_status", "batch_id", "status"),
        sa.Index(f"ix_{names.staged_subitems}_parent", "parent_stg_id"),
    )
    items = sa.Table(
        names.items,
        md,
        sa.Column("board_id", sa.BigInteger, primary_key=True),
        sa.Column("order_key", KEY, primary_key=True),
        sa.Column("monday_item_id", sa.BigInteger, nullable=False),
        sa.Column("item_name", LONG_TEXT),
        sa.Column("group_id", sa.Unicode(100)),
        sa.Column("group_title", sa.Unicode(255)),
        sa.Column("column_values", LONG_TEXT),
        sa.Column("row_hash", HASH),
        sa.Column("customer", SCOPE),
        sa.Column("po_number", SCOPE),
        sa.Column("season", SCOPE),
        sa.Column("state", STATE, nullable=False),
        sa.Column("batch_id", ID),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        sa.Column("monday_values", LONG_TEXT),
        sa.Column("pulled_at", sa.DateTime),
        sa.Column("raw_digest", HASH),  # raw_digest.py: the source row that built row_hash
        sa.Index(f"ix_{names.items}_scope", "board_id", "customer", "po_number"),
        sa.Index(f"ix_{names.items}_item_id", "monday_item_id"),
    )
    subitems = sa.Table(
        names.subitems,
        md,
        sa.Column("board_id", sa.BigInteger, primary_key=True),
        sa.Column("order_key", KEY, primary_key=True),
        sa.Column("size_label", sa.Unicode(100), primary_key=True),
        sa.Column("monday_subitem_id", sa.BigInteger, nullable=False),
        sa.Column("monday_parent_item_id", sa.BigInteger, nullable=False),
        sa.Column("qty", sa.Integer),
        sa.Column("row_hash", HASH),
        sa.Column("state", STATE, nullable=False),
        sa.Column("batch_id", ID),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        sa.Column("monday_values", LONG_TEXT),
        sa.Column("pulled_at", sa.DateTime),
        sa.Index(f"ix_{names.subitems}_subitem_id", "monday_subitem_id"),
    )
    item_errors = _error_table(names.item_errors, md, with_size=False)
    subitem_errors = _error_table(names.subitem_errors, md, with_size=True)
    journal = sa.Table(
        names.journal,
        md,
        sa.Column("request_id", ID, primary_key=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("board_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("aliases", LONG_TEXT, nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("http_status", sa.Integer),
        sa.Column("error", LONG_TEXT),
        sa.Index(f"ix_{names.journal}_board_state", "board_id", "state"),
    )
    locks = sa.Table(
        names.locks,
        md,
        sa.Column("board_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("purpose", sa.String(16)),
        sa.Column("process", sa.String(100)),
        sa.Column("waiting", sa.String(200)),
    )
    scan = sa.Table(
        names.scan,
        md,
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("order_key", KEY, nullable=False),
        sa.Column("row_hash", HASH, nullable=False),
        sa.Column("line", LONG_TEXT, nullable=False),
        sa.Column("raw_digest", HASH),
        sa.Index(f"ix_{names.scan}_batch_key", "batch_id", "order_key"),
    )
    pulled_values = sa.Table(
        names.pulled_values,
        md,
        sa.Column("board_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("monday_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("column_id", sa.String(64), primary_key=True),
        sa.Column("order_key", KEY),
        sa.Column("size_label", sa.Unicode(100)),
        sa.Column("title", sa.Unicode(255)),
        sa.Column("text_value", LONG_TEXT),
        sa.Column("number_value", sa.Numeric(28, 6)),
        sa.Column("date_value", sa.Date),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("pulled_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{names.pulled_values}_key", "board_id", "order_key"),
    )
    value_changes = sa.Table(
        names.value_changes,
        md,
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.BigInteger, nullable=False),
        sa.Column("monday_id", sa.BigInteger, nullable=False),
        sa.Column("column_id", sa.String(64), nullable=False),
        sa.Column("order_key", KEY),
        sa.Column("size_label", sa.Unicode(100)),
        sa.Column("old_text", LONG_TEXT),
        sa.Column("new_text", LONG_TEXT),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_key", sa.String(128)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{names.value_changes}_item", "board_id", "monday_id"),
    )
    webhook_events = sa.Table(
        names.webhook_events,
        md,
        sa.Column("event_key", sa.String(128), primary_key=True),
        sa.Column("board_id", sa.BigInteger),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("applied_at", sa.DateTime),
        sa.Column("error", LONG_TEXT),
        sa.Column("state", STATE, nullable=False, server_default=sa.text("'PENDING'")),
        sa.Index(f"ix_{names.webhook_events}_pending", "applied_at"),
        sa.Index(f"ix_{names.webhook_events}_board_state", "board_id", "state"),
    )
    pull_runs = sa.Table(
        names.pull_runs,
        md,
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("board_id", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        *(_counter(name) for name in PULL_COUNTERS),
        sa.Column("report", LONG_TEXT, nullable=False),
        sa.Index(f"ix_{names.pull_runs}_board", "board_id", "finished_at"),
    )
    bulk_jobs = sa.Table(
        names.bulk_jobs,
        md,
        *bulk_job_columns(),
        sa.Index(f"ix_{names.bulk_jobs}_board_state", "board_id", "state"),
    )
    return Tables(
        md,
        batches,
        staged_items,
        staged_subitems,
        items,
        subitems,
        item_errors,
        subitem_errors,
        journal,
        locks,
        scan,
        pulled_values,
        value_changes,
        webhook_events,
        pull_runs,
        bulk_jobs,
    )


def bulk_job_columns() -> list[sa.Column]:
    """The bulk journal's columns (``bulk/jobs.py``): one import job, written before upload."""
    return [
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("board_id", sa.BigInteger, nullable=False),
        sa.Column("group_id", sa.Unicode(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # ingest | backfill
        sa.Column("item_stg_ids", LONG_TEXT, nullable=False),  # JSON list, file order
        sa.Column("subitem_stg_ids", LONG_TEXT, nullable=False),
        sa.Column("file_rows", sa.Integer, nullable=False),
        sa.Column("file_digest", HASH, nullable=False),  # sha256 of the uploaded bytes
        sa.Column("state", STATE, nullable=False),
        sa.Column("job_status", STATE),  # monday's last answer (UPLOAD_PENDING … COMPLETED)
        sa.Column("failure_reason", sa.String(64)),
        sa.Column("failure_message", LONG_TEXT),
        sa.Column("counts", LONG_TEXT),  # monday's counts, JSON
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("upload_expires_at", sa.DateTime, nullable=False),
        sa.Column("uploaded_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
    ]


def _error_table(name: str, md: sa.MetaData, *, with_size: bool) -> sa.Table:
    size = [sa.Column("size_label", sa.Unicode(100))] if with_size else []
    return sa.Table(
        name,
        md,
        sa.Column("err_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("stg_id", ID),
        sa.Column("order_key", KEY),
        *size,
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("message", LONG_TEXT, nullable=False),
        sa.Column("payload", LONG_TEXT),
        sa.Column("http_status", sa.Integer),
        sa.Column("retryable", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("resolved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.Index(f"ix_{name}_batch", "batch_id"),
    )
