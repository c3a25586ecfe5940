"""Simulated crashes for exactly-once tests (importable as ``helpers.crashes``).

``Crash`` stands for the process dying: a ``BaseException`` that ordersync never catches.
``CrashingTransport`` wraps the emulator's in-process transport and, at chosen requests,
dies before sending, or after monday applied the request but before the answer arrives
(optionally injecting one of the emulator's own faults first). ``crash_on_statement`` makes
the database connection die at the N-th statement of a kind (uncommitted work is lost, as
when the process is killed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

import ordersync.push.plan as plan_module
from ordersync.clock import ManualClock
from ordersync.db import Database
from ordersync.db.engine import COPY_DRIVERS
from ordersync.emulator import Emulator, Fault

MUTATION_FIELDS = (
    "create_group",
    "create_item",
    "create_subitem",
    "change_multiple_column_values",
    "archive_item",
    "move_item_to_group",
)


class Crash(BaseException):
    """The process died here."""


class CrashingTransport(httpx.BaseTransport):
    """Counts GraphQL requests; at scheduled ones, crashes or injects an emulator fault.

    ``schedule`` maps a request to an action: the key is a request number (1-based, over all
    requests) or ``(field, n)``, the n-th request carrying mutation ``field``; the action is
    ``crash_before`` (die before the request leaves), ``crash_after`` (monday applies it, then
    the process dies), or an emulator ``Fault`` injected just before that request.
    """

    def __init__(
        self, emulator: Emulator, schedule: dict[int | tuple[str, int], str | Fault]
    ) -> None:
        self.emulator, self.inner = emulator, emulator.transport()
        self.schedule = dict(schedule)
        self.count = 0
        self.by_field: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        action = self.schedule.pop(self.count, None)
        query = json.loads(request.content).get("query", "")
        for field in MUTATION_FIELDS:
            if f"{field}(" in query:
                self.by_field[field] += 1
                action = action or self.schedule.pop((field, self.by_field[field]), None)
        if action == "crash_before":
            raise Crash(f"killed before request {self.count}")
        if isinstance(action, Fault):
            self.emulator.inject(dataclasses.replace(action))  # the emulator counts it down
        response = self.inner.handle_request(request)
        if action == "crash_after":
            response.read()
            raise Crash(f"killed after request {self.count} was applied")
        return response


@contextmanager
def on_statement(
    engine: sa.Engine,
    when: Callable[[sa.ClauseElement], bool],
    action: Callable[[sa.Connection], None],
    nth: int = 1,
) -> Iterator[None]:
    """Run ``action`` just before the ``nth`` statement on ``engine`` for which ``when`` is
    true. Rows written by COPY (``insert_rows`` on PostgreSQL) count as the INSERT they stand
    for: COPY goes to the driver, where SQLAlchemy's events do not see it."""
    seen = 0

    def observe(connection: sa.Connection, statement: sa.ClauseElement) -> None:
        nonlocal seen
        if connection.engine is engine and when(statement):
            seen += 1
            if seen == nth:
                action(connection)

    def check(conn, clauseelement, multiparams, params, execution_options):  # type: ignore[no-untyped-def]
        if isinstance(clauseelement, sa.ClauseElement):
            observe(conn, clauseelement)

    copied = plan_module.insert_rows

    def insert_rows(
        connection: sa.Connection,
        table: sa.Table,
        rows: list[Any],
        columns: Any = None,
        *,
        typed: bool = False,
    ) -> None:
        dialect = connection.dialect
        if rows and (dialect.name, dialect.driver) in COPY_DRIVERS:
            observe(connection, table.insert())
        copied(connection, table, rows, columns, typed=typed)

    sa.event.listen(engine, "before_execute", check)
    plan_module.insert_rows = insert_rows  # type: ignore[assignment]
    try:
        yield
    finally:
        plan_module.insert_rows = copied  # type: ignore[assignment]
        sa.event.remove(engine, "before_execute", check)


def crash_on_statement(
    engine: sa.Engine, when: Callable[[sa.ClauseElement], bool], nth: int = 1
) -> contextlib.AbstractContextManager[None]:
    """Die at the ``nth`` executed statement for which ``when`` is true (``on_statement``)."""

    def die(connection: sa.Connection) -> None:
        raise Crash(f"killed at statement {nth}")

    return on_statement(engine, when, die, nth)


def touches(
    table_name: str, kind: type = sa.sql.dml.UpdateBase
) -> Callable[[sa.ClauseElement], bool]:
    """A statement of ``kind`` (Insert/Update/Delete) on the table named ``table_name``."""

    def matches(statement: sa.ClauseElement) -> bool:
        table = getattr(statement, "table", None)
        return isinstance(statement, kind) and getattr(table, "name", None) == table_name

    return matches


def down_for(db: Database, clock: ManualClock, minutes: int) -> None:
    """The run stays down ``minutes``: journal entries that old, monday's clock as far on (past
    30 minutes, monday's idempotency cache has forgotten the keys)."""
    journal = db.tables.journal
    with db.engine.begin() as connection:  # row by row: SQLite keeps datetimes as text
        for request_id, sent_at in connection.execute(
            sa.select(journal.c.request_id, journal.c.sent_at)
        ).all():
            connection.execute(
                journal.update()
                .where(journal.c.request_id == request_id)
                .values(sent_at=sent_at - timedelta(minutes=minutes))
            )
    clock.advance(minutes * 60)
