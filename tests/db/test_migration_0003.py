"""Migration 0003: events received before it keep their meaning (applied → APPLIED, waiting →
PENDING), lock rows gain the holder's columns; the receiver's and the lock's statements
compile for every dialect."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql, sqlite

from ordersync.db import Database, build_tables, utcnow
from ordersync.db.migrate import head_revision, upgrade
from ordersync.states import EventState


def test_events_received_before_0003_keep_their_meaning(db_url: str) -> None:
    db = Database.connect(db_url)
    upgrade(db.engine, revision="0002")
    events = sa.Table("MON_WebhookEvents", sa.MetaData(), autoload_with=db.engine)
    now = utcnow()
    with db.engine.begin() as connection:
        for key, applied in (("done", now), ("waiting", None)):
            connection.execute(
                events.insert().values(
                    event_key=key,
                    board_id=1,
                    event_type="x",
                    payload="{}",
                    received_at=now,
                    applied_at=applied,
                )
            )
    assert upgrade(db.engine) == head_revision()
    table = db.tables.webhook_events
    with db.engine.connect() as connection:
        states = dict(connection.execute(sa.select(table.c.event_key, table.c.state)).all())
    assert states == {"done": EventState.APPLIED, "waiting": EventState.PENDING}
    db.engine.dispose()


def test_receiver_and_lock_statements_compile_everywhere() -> None:
    tables = build_tables()
    events, locks = tables.webhook_events, tables.locks
    statements = [
        sa.select(events.c.event_key, events.c.payload)
        .where(events.c.state == EventState.PENDING, events.c.board_id.in_([1, 2]))
        .order_by(events.c.received_at, events.c.event_key)
        .limit(100),
        events.update()
        .where(events.c.event_key.in_(["a"]))
        .values(state=EventState.QUARANTINED, error="why", applied_at=None),
        locks.update().where(locks.c.board_id == 1, locks.c.owner == "o").values(waiting="w"),
        sa.select(locks.c.owner, locks.c.purpose, locks.c.process, locks.c.waiting),
    ]
    for dialect in (mssql.dialect(), postgresql.dialect(), sqlite.dialect()):
        for statement in statements:
            assert str(statement.compile(dialect=dialect))
