"""Batch records (``MON_BatchProcessing``): the one module that writes them, and where they
are read.

A plan creates its batch (``create_batch``, STAGED, with what it planned); delivery moves it
through its stages, each stamped when reached (``advance``: STAGED → ITEMS_COMPLETED →
SUBITEMS_COMPLETED → ``complete``: BATCH_COMPLETED or COMPLETED_WITH_ERRORS; FAILED on a
permanent error, ``note_error``) and adds to its counters (``add_counts``, in the caller's
transaction). Which counters a batch keeps is declared in ``batch_counters``; ``BatchReport``
is a record as ``status``, ``sync --json``, ``report``, ``/metrics`` and the dashboard read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ordersync.batch_counters import COLUMNS, COUNTERS, Tally, counters, rejected, total
from ordersync.db import Database, Tables, utcnow
from ordersync.db.tables import BATCH_STAGE_TIMESTAMPS
from ordersync.errors import ConfigError
from ordersync.states import COMPLETED_BATCH_STATUSES, FINISHED_BATCH_STATUSES, BatchStatus

if TYPE_CHECKING:
    from ordersync.monday.models import RequestStats

REQUEST_COUNTERS = tuple(c.column for c in counters(Tally.USAGE))
"""The client's counters (``RequestStats``) a batch records, under the same names."""

STAMPS = {  # the stage stamp a status sets when the batch reaches it
    BatchStatus.STAGED: "staged_at",
    BatchStatus.ITEMS_COMPLETED: "items_completed_at",
    BatchStatus.SUBITEMS_COMPLETED: "subitems_completed_at",
    BatchStatus.BATCH_COMPLETED: "completed_at",
    BatchStatus.COMPLETED_WITH_ERRORS: "completed_at",
    BatchStatus.FAILED: "completed_at",
}


def request_usage(stats: RequestStats) -> dict[str, int]:
    """The client's counters a batch records, now (``deliver`` adds what one batch used)."""
    return {name: int(getattr(stats, name)) for name in REQUEST_COUNTERS}


# ----------------------------------------------------------------------------- writing
def create_batch(
    connection: sa.Connection,
    tables: Tables,
    batch_id: str,
    *,
    board_id: int,
    mode: str,
    customer: str | None,
    po_number: str | None,
    season: str | None,
    counts: Mapping[str, int],
    config_snapshot: str,
) -> None:
    """Record a new STAGED batch with its first counts (``batch_counters.plan_counts``)."""
    _check(counts)
    now = utcnow()
    connection.execute(
        tables.batches.insert().values(
            batch_id=batch_id,
            board_id=board_id,
            mode=mode,
            customer=customer,
            po_number=po_number,
            season=season,
            status=BatchStatus.STAGED,
            created_at=now,
            staged_at=now,
            updated_at=now,
            **counts,
            config_snapshot=config_snapshot,
        )
    )


def add_counts(
    connection: sa.Connection, tables: Tables, batch_id: str, increments: Mapping[str, int]
) -> None:
    """Add to a batch's counters (names from ``batch_counters``; zeros write nothing)."""
    _check(increments)
    batches = tables.batches
    values = {name: batches.c[name] + n for name, n in increments.items() if n}
    if values:
        connection.execute(batches.update().where(batches.c.batch_id == batch_id).values(**values))


def advance(db: Database, batch_id: str, status: BatchStatus, *, error: str | None = None) -> None:
    """Move a batch to ``status`` and stamp the stage (``STAMPS``), in a transaction of its own."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": now, STAMPS[status]: now}
    if error is not None:
        values["error"] = error
    _update(db, batch_id, values)


def complete(db: Database, batch_id: str) -> BatchStatus:
    """End a batch whose subitems are done: BATCH_COMPLETED, or COMPLETED_WITH_ERRORS when any
    row was rejected at planning or refused by monday."""
    report = load_report(db, batch_id)
    assert report is not None
    clean = report.rejected_rows() == 0
    status = BatchStatus.BATCH_COMPLETED if clean else BatchStatus.COMPLETED_WITH_ERRORS
    advance(db, batch_id, status)
    return status


def note_error(db: Database, batch_id: str, message: str, *, permanent: bool) -> None:
    """Keep a delivery error on the batch. Retryable: it stays where it is, resumable.
    Permanent (e.g. auth): it is FAILED."""
    if permanent:
        advance(db, batch_id, BatchStatus.FAILED, error=message)
    else:
        _update(db, batch_id, {"error": message, "updated_at": utcnow()})


def _update(db: Database, batch_id: str, values: dict[str, Any]) -> None:
    batches = db.tables.batches
    with db.engine.begin() as connection:
        connection.execute(batches.update().where(batches.c.batch_id == batch_id).values(**values))


def _check(counts: Mapping[str, int]) -> None:
    unknown = set(counts) - COLUMNS
    if unknown:
        raise ValueError(f"not batch counters: {', '.join(sorted(unknown))}")


# ----------------------------------------------------------------------------- reading
@dataclass
class BatchReport:
    """A batch's record, as ``status`` and ``sync --json`` show it. Each counter of
    ``batch_counters.COUNTERS`` is an attribute too (``report.items_created``)."""

    batch_id: str
    status: str
    board_id: int
    mode: str
    customer: str | None
    po_number: str | None
    season: str | None
    counts: dict[str, int]  # every counter, by column, in declaration order
    created_at: Any
    staged_at: Any
    items_completed_at: Any
    subitems_completed_at: Any
    completed_at: Any
    error: str | None

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts")
        if counts is None or name not in counts:
            raise AttributeError(name)
        return int(counts[name])

    def applied(self, kind: str) -> int:
        """Changes of a kind now on the board: created, adopted, updated, archived."""
        return total(self, Tally.DELIVERED, kind, applied=True)

    def planned(self, kind: str) -> int:
        """Changes of a kind planned: creates, updates, archives (adoption's included)."""
        return total(self, Tally.PLANNED, kind)

    def rejected_rows(self) -> int:
        """Rows rejected at planning or refused by monday, items and subitems."""
        return rejected(self)

    def as_dict(self) -> dict[str, Any]:
        """The record as ``--json`` shows it: the counters after the scope, stamps in ISO."""
        data: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "counts":
                data.update(value)
            else:
                data[field.name] = _iso(value) if field.name in BATCH_STAGE_TIMESTAMPS else value
        return data


_RECORD = tuple(f.name for f in fields(BatchReport) if f.name != "counts")


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else None


def _report(row: sa.Row) -> BatchReport:
    record = {name: getattr(row, name) for name in _RECORD}
    return BatchReport(**record, counts={c.column: getattr(row, c.column) for c in COUNTERS})


def load_report(db: Database, batch_id: str) -> BatchReport | None:
    batches = db.tables.batches
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
    return None if row is None else _report(row)


def _reports(db: Database, statement: sa.Select) -> list[BatchReport]:
    with db.engine.connect() as connection:
        return [_report(row) for row in connection.execute(statement)]


def batch_status(db: Database, batch_id: str) -> BatchStatus:
    batches = db.tables.batches
    with db.engine.connect() as connection:
        status = connection.execute(
            sa.select(batches.c.status).where(batches.c.batch_id == batch_id)
        ).scalar_one()
    return BatchStatus(status)


def unfinished_batches(db: Database, board_id: int) -> list[str]:
    """Batches of ``board_id`` not yet at an end state, oldest first."""
    return [r.batch_id for r in running_batches(db, board_id)]


def running_batches(db: Database, board_id: int | None = None) -> list[BatchReport]:
    """Batches not yet at an end state (of one board, or all), oldest first."""
    batches = db.tables.batches
    statement = (
        sa.select(batches)
        .where(batches.c.status.not_in([str(s) for s in FINISHED_BATCH_STATUSES]))
        .order_by(batches.c.created_at)
    )
    if board_id is not None:
        statement = statement.where(batches.c.board_id == board_id)
    return _reports(db, statement)


def latest_batches(db: Database, limit: int = 10) -> list[BatchReport]:
    """The most recent batches, newest first."""
    batches = db.tables.batches
    return _reports(db, sa.select(batches).order_by(batches.c.created_at.desc()).limit(limit))


def batches_since(db: Database, since: datetime, customer: str | None = None) -> list[BatchReport]:
    """Batches created at or after ``since`` (of one canonical customer, if given)."""
    batches = db.tables.batches
    statement = sa.select(batches).where(batches.c.created_at >= since)
    if customer is not None:
        statement = statement.where(batches.c.customer == customer)
    return _reports(db, statement)


def latest_per_customer(db: Database) -> list[BatchReport]:
    """The newest batch of each board and customer, by customer."""
    batches = db.tables.batches
    newest = (
        sa.select(
            batches.c.board_id,
            batches.c.customer,
            sa.func.max(batches.c.created_at).label("created_at"),
        )
        .group_by(batches.c.board_id, batches.c.customer)
        .subquery()
    )
    statement = (
        sa.select(batches)
        .join(
            newest,
            sa.and_(
                newest.c.board_id == batches.c.board_id,
                newest.c.created_at == batches.c.created_at,
                sa.or_(
                    newest.c.customer == batches.c.customer,
                    sa.and_(newest.c.customer.is_(None), batches.c.customer.is_(None)),
                ),
            ),
        )
        .order_by(batches.c.customer, batches.c.board_id)
    )
    return _reports(db, statement)


def count_by_status(db: Database) -> list[tuple[int, str, int]]:
    """(board, status, batches), every board."""
    batches = db.tables.batches
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(batches.c.board_id, batches.c.status, sa.func.count()).group_by(
                batches.c.board_id, batches.c.status
            )
        )
        return [(int(board), str(status), int(n)) for board, status, n in rows]


def counter_sums(db: Database) -> dict[str, int]:
    """Every counter summed over every batch kept."""
    batches = db.tables.batches
    with db.engine.connect() as connection:
        sums = connection.execute(
            sa.select(*(sa.func.coalesce(sa.func.sum(batches.c[c.column]), 0) for c in COUNTERS))
        ).one()
    return {c.column: int(n) for c, n in zip(COUNTERS, sums, strict=True)}


def last_completed(db: Database) -> list[tuple[int, str | None, datetime]]:
    """(board, customer, when its last completed batch ended)."""
    batches = db.tables.batches
    completed = sorted(str(s) for s in COMPLETED_BATCH_STATUSES)
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(batches.c.board_id, batches.c.customer, sa.func.max(batches.c.completed_at))
            .where(batches.c.status.in_(completed))
            .group_by(batches.c.board_id, batches.c.customer)
        )
        return [(int(board), customer, last) for board, customer, last in rows]


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
