"""Batch records: reading what ``MON_BatchProcessing`` holds about one batch or many."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ordersync.db import Database
from ordersync.db.tables import BATCH_STAGE_TIMESTAMPS, BATCH_USAGE
from ordersync.errors import ConfigError
from ordersync.states import FINISHED_BATCH_STATUSES, BatchStatus

if TYPE_CHECKING:
    from ordersync.monday.models import RequestStats

REQUEST_COUNTERS = ("requests", "retries", *BATCH_USAGE)
"""The client's counters (``RequestStats``) a batch records, under the same names."""


def request_usage(stats: RequestStats) -> dict[str, int]:
    """The client's counters a batch records, now (``deliver`` adds what one batch used)."""
    return {name: int(getattr(stats, name)) for name in REQUEST_COUNTERS}


@dataclass
class BatchReport:
    """A batch's record, as ``status`` and ``sync --json`` show it."""

    batch_id: str
    status: str
    board_id: int
    mode: str
    customer: str | None
    po_number: str | None
    season: str | None
    planned_items: int
    planned_subitems: int
    planned_item_updates: int
    planned_item_archives: int
    planned_subitem_updates: int
    planned_subitem_archives: int
    items_created: int
    items_adopted: int
    items_updated: int
    items_archived: int
    items_failed: int
    subitems_created: int
    subitems_adopted: int
    subitems_updated: int
    subitems_archived: int
    subitems_failed: int
    rows_rejected: int
    requests: int
    retries: int
    throttled: int  # monday's answers with HTTP 429 (rate or complexity limits)
    complexity_spent: int  # complexity points the batch's requests cost
    created_at: Any
    staged_at: Any
    items_completed_at: Any
    subitems_completed_at: Any
    completed_at: Any
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for name in BATCH_STAGE_TIMESTAMPS:
            data[name] = _iso(data[name])
        return data


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else None


def load_report(db: Database, batch_id: str) -> BatchReport | None:
    batches = db.tables.batches
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
    if row is None:
        return None
    fields = BatchReport.__dataclass_fields__
    return BatchReport(**{name: getattr(row, name) for name in fields})


def unfinished_batches(db: Database, board_id: int) -> list[str]:
    """Batches of ``board_id`` not yet at an end state, oldest first."""
    batches = db.tables.batches
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(batches.c.batch_id)
                .where(
                    batches.c.board_id == board_id,
                    batches.c.status.not_in(list(FINISHED_BATCH_STATUSES)),
                )
                .order_by(batches.c.created_at)
            ).scalars()
        )


def latest_batches(db: Database, limit: int = 10) -> list[BatchReport]:
    """The most recent batches, newest first."""
    batches = db.tables.batches
    with db.engine.connect() as connection:
        ids = connection.execute(
            sa.select(batches.c.batch_id).order_by(batches.c.created_at.desc()).limit(limit)
        ).scalars()
        return [report for batch_id in ids if (report := load_report(db, batch_id))]


def latest_batch_with_errors(db: Database) -> str | None:
    """The most recent batch that ended with rejected rows or failed."""
    batches = db.tables.batches
    ended_badly = [BatchStatus.COMPLETED_WITH_ERRORS, BatchStatus.FAILED]
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(batches.c.batch_id)
            .where(batches.c.status.in_(ended_badly))
            .order_by(batches.c.created_at.desc())
            .limit(1)
        ).scalar()


def count_errors(db: Database, batch_id: str) -> tuple[int, int]:
    """(resolved, unresolved) ERR rows of a batch, items and subitems together."""
    resolved = unresolved = 0
    with db.engine.connect() as connection:
        for table in (db.tables.item_errors, db.tables.subitem_errors):
            rows = connection.execute(
                sa.select(table.c.resolved, sa.func.count())
                .where(table.c.batch_id == batch_id)
                .group_by(table.c.resolved)
            ).all()
            for is_resolved, n in rows:
                if is_resolved:
                    resolved += n
                else:
                    unresolved += n
    return resolved, unresolved


def resolve_batch_id(db: Database, prefix: str) -> str:
    """The batch whose id starts with ``prefix`` (``status``'s 8 characters, or any other
    unique prefix; a whole id too).

    Raises:
        ConfigError: no batch starts with it, or several do (their ids are named).
    """
    batches = db.tables.batches
    prefix = prefix.strip().lower()
    with db.engine.connect() as connection:
        found = list(
            connection.execute(
                sa.select(batches.c.batch_id)
                .where(batches.c.batch_id.startswith(prefix, autoescape=True))
                .order_by(batches.c.batch_id)
                .limit(6)
            ).scalars()
        )
    if not found:
        raise ConfigError(f"no batch {prefix} (`ordersync status` lists the recent ones)")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
        raise ConfigError(f"batch id {prefix!r} is ambiguous: it starts {shown}; give more of it")
    return str(found[0])
