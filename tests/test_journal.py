"""``journal``: a request is written SENDING before it leaves, closed with its answer, and
moved to a fresh key by ``reopen_entry``; ``open_entries`` lists what a board still has to
resolve, oldest first, with its aliases as they were written."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from ordersync.db import Database
from ordersync.push.journal import close_entry, open_entries, open_entry, reopen_entry
from ordersync.states import JournalState

BOARD, OTHER_BOARD = 4755559751, 1234
ALIASES = {"i1": "stg-a", "i2": "stg-b", "i10": "stg-ü"}


@pytest.fixture
def db(migrated: Database) -> Database:
    """ordersync's tables only (no source table: the journal needs none)."""
    return migrated


def _row(db: Database, request_id: str) -> sa.Row:
    journal = db.tables.journal
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(journal).where(journal.c.request_id == request_id)
        ).one()


def test_an_opened_entry_is_committed_sending_with_its_aliases(db: Database) -> None:
    batch = str(uuid.uuid4())

    entry = open_entry(db, batch, BOARD, "CREATE_ITEMS", ALIASES)

    row = _row(db, entry.request_id)  # another connection sees it: committed
    assert (row.state, row.batch_id, row.board_id, row.kind) == (
        JournalState.SENDING,
        batch,
        BOARD,
        "CREATE_ITEMS",
    )
    assert row.finished_at is None and row.error is None
    uuid.UUID(entry.request_id)  # the Idempotency-Key is a UUID
    [listed] = open_entries(db, BOARD)
    assert listed.request_id == entry.request_id
    assert listed.aliases == ALIASES  # alias → staged row id, round-tripped
    assert (listed.batch_id, listed.kind) == (batch, "CREATE_ITEMS")


def test_each_entry_gets_its_own_key(db: Database) -> None:
    keys = {open_entry(db, "b", BOARD, "CREATE_ITEMS", ALIASES).request_id for _ in range(3)}
    assert len(keys) == 3


def test_open_entries_are_per_board_and_oldest_first(db: Database) -> None:
    first = open_entry(db, "b1", BOARD, "CREATE_ITEMS", {"i1": "a"})
    elsewhere = open_entry(db, "b2", OTHER_BOARD, "CREATE_ITEMS", {"i1": "z"})
    second = open_entry(db, "b1", BOARD, "UPDATE_ITEMS", {"u1": "b"})

    assert [e.request_id for e in open_entries(db, BOARD)] == [
        first.request_id,
        second.request_id,
    ]
    assert [e.request_id for e in open_entries(db, OTHER_BOARD)] == [elsewhere.request_id]
    assert open_entries(db, 999) == []


def test_a_closed_entry_is_no_longer_open(db: Database) -> None:
    done = open_entry(db, "b", BOARD, "CREATE_ITEMS", {"i1": "a"})
    failed = open_entry(db, "b", BOARD, "CREATE_ITEMS", {"i1": "b"})
    still = open_entry(db, "b", BOARD, "CREATE_ITEMS", {"i1": "c"})

    with db.engine.begin() as connection:
        close_entry(connection, db, done.request_id)
        close_entry(
            connection, db, failed.request_id, JournalState.FAILED, error="boom", http_status=500
        )

    assert [e.request_id for e in open_entries(db, BOARD)] == [still.request_id]
    row = _row(db, done.request_id)
    assert row.state == JournalState.DONE and row.finished_at is not None
    row = _row(db, failed.request_id)
    assert (row.state, row.error, row.http_status) == (JournalState.FAILED, "boom", 500)


def test_closing_is_part_of_the_callers_transaction(db: Database) -> None:
    entry = open_entry(db, "b", BOARD, "CREATE_ITEMS", {"i1": "a"})
    with db.engine.connect() as connection:
        close_entry(connection, db, entry.request_id)
        connection.rollback()  # the answer was not recorded: the entry stays SENDING
    assert [e.request_id for e in open_entries(db, BOARD)] == [entry.request_id]


def test_reopen_moves_the_rows_to_a_new_key_and_closes_the_old_one(db: Database) -> None:
    old = open_entry(db, "b", BOARD, "CREATE_SUBITEMS", ALIASES)

    new = reopen_entry(db, old, BOARD)

    assert new.request_id != old.request_id
    assert (new.batch_id, new.kind, new.aliases) == (old.batch_id, old.kind, old.aliases)
    [listed] = open_entries(db, BOARD)
    assert listed.request_id == new.request_id and listed.aliases == ALIASES
    closed = _row(db, old.request_id)
    assert closed.state == JournalState.FAILED and closed.http_status == 429
    assert new.request_id in closed.error  # the old entry names the key it was resent under
