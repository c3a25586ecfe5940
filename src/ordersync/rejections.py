"""Rejected rows as a planner reads them: the ERR tables (items and subitems) with each row's
batch scope, filtered by batch, code, customer or PO (``errors``, ``sync``, the dashboard).

A row's PO is the one its source row carried (the payload of a PLAN rejection), else its staged
item's (a DELIVER rejection), else its batch's scope.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database


@dataclass(frozen=True)
class RejectedRow:
    """One row of an ERR table, with the scope of its batch."""

    batch_id: str
    err_id: int
    kind: str  # "item" or "subitem"
    order_key: str | None
    size_label: str | None
    stage: str
    code: str
    message: str
    resolved: bool
    created_at: datetime
    customer: str | None
    po_number: str | None

    @property
    def shown_key(self) -> str:
        """The key as a planner reads it: ``(no key)`` when missing, the size of a subitem."""
        key = self.order_key or "(no key)"
        return f"{key} size {self.size_label}" if self.size_label else key

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat(sep=" ", timespec="seconds")
        return data


def rejected_rows(
    db: Database,
    config: SyncConfig,
    *,
    batch_id: str | None = None,
    code: str | None = None,
    customer: str | None = None,
    po_number: str | None = None,
    since: datetime | None = None,
    open_only: bool = False,
    limit: int | None = None,
) -> list[RejectedRow]:
    """Rejected rows in the order they were recorded (items before subitems of one moment).

    Args:
        db: ordersync's database.
        config: the mapping (the source's PO column, customer aliases).
        batch_id: only this batch (a full id; see ``batches.resolve_batch_id``).
        code: only this error code.
        customer: only batches of this customer (canonical name or any alias).
        po_number: only rows of this PO.
        since: only rows recorded at or after this (naive UTC).
        open_only: leave out rows a later run resolved.
        limit: at most this many rows.
    """
    canonical = config.canonical_customer(customer) if customer else None
    rows: list[RejectedRow] = []
    with db.engine.connect() as connection:
        for kind, table in (("item", db.tables.item_errors), ("subitem", db.tables.subitem_errors)):
            statement = _select(db, table, kind)
            for column, value in (
                (table.c.batch_id, batch_id),
                (table.c.error_code, code),
                (db.tables.batches.c.customer, canonical),
            ):
                if value is not None:
                    statement = statement.where(column == value)
            if since is not None:
                statement = statement.where(table.c.created_at >= since)
            if open_only:
                statement = statement.where(table.c.resolved == sa.false())
            for row in connection.execute(statement):
                rejected = _rejected_row(row, kind, config.source.po_column)
                if po_number is None or rejected.po_number == po_number:
                    rows.append(rejected)
    rows.sort(key=lambda r: (r.created_at, r.kind != "item", r.err_id))
    return rows[:limit] if limit is not None else rows


def count_by_code(rows: list[RejectedRow]) -> list[tuple[str, int, str]]:
    """(code, rows, one message as an example) per error code, most frequent first."""
    counts = Counter(r.code for r in rows)
    example = {r.code: r.message for r in reversed(rows)}
    return [(code, n, example[code]) for code, n in counts.most_common()]


def _select(db: Database, table: sa.Table, kind: str) -> sa.Select:
    batches, staged = db.tables.batches, db.tables.staged_items
    size = table.c.size_label if kind == "subitem" else sa.null().label("size_label")
    staged_po = staged.c.po_number if kind == "item" else sa.null()
    joined = table.join(batches, batches.c.batch_id == table.c.batch_id, isouter=True)
    if kind == "item":
        joined = joined.join(staged, staged.c.stg_id == table.c.stg_id, isouter=True)
    return sa.select(
        table.c.err_id,
        table.c.batch_id,
        table.c.order_key,
        size,
        table.c.stage,
        table.c.error_code,
        table.c.message,
        table.c.payload,
        table.c.resolved,
        table.c.created_at,
        batches.c.customer,
        batches.c.po_number.label("batch_po"),
        staged_po.label("staged_po"),
    ).select_from(joined)


def _rejected_row(row: sa.Row, kind: str, po_column: str) -> RejectedRow:
    return RejectedRow(
        batch_id=row.batch_id,
        err_id=row.err_id,
        kind=kind,
        order_key=row.order_key,
        size_label=row.size_label,
        stage=row.stage,
        code=row.error_code,
        message=row.message,
        resolved=bool(row.resolved),
        created_at=row.created_at,
        customer=row.customer,
        po_number=_payload_po(row.payload, po_column) or row.staged_po or row.batch_po,
    )


def _payload_po(payload: str | None, po_column: str) -> str | None:
    """The PO of the source row a PLAN rejection recorded (absent for other payloads)."""
    try:
        data = json.loads(payload) if payload else None
    except ValueError:
        return None
    value = data.get(po_column) if isinstance(data, dict) else None
    return None if value in (None, "") else str(value)
