"""Delivery under monday's limits: the daily call limit and a full board stop the run at once
(resumable, nothing rejected row by row); a 429 monday did not process is resent under a
fresh ``Idempotency-Key`` journalled first, and a crash between the two keys still ends with
every item exactly once."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from helpers.board_support import GREYSON, KEY_COLUMN
from helpers.crashes import Crash, CrashingTransport
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault, Limits
from ordersync.errors import LimitReachedError
from ordersync.monday import MondayClient
from ordersync.states import BatchStatus, JournalState, RowStatus
from ordersync.sync import SyncOutcome, run_sync

EPOCH = 1_767_308_400.0  # 2026-01-01 23:00 UTC: the daily limit resets an hour later
LINES = 69  # GREYSON PO 4755


def sync(db: Database, config: SyncConfig, transport: Any, clock: ManualClock) -> SyncOutcome:
    with MondayClient(
        "http://emulator.test/v2", "t0ken-for-tests", transport=transport, clock=clock
    ) as client:
        return run_sync(db, config, client, GREYSON)


def board_keys(emulator: Emulator) -> list[str]:
    return [
        item["texts"][KEY_COLUMN]
        for item in emulator.items(CMS_BOARD_ID)
        if item["state"] == "active"
    ]


def batch(db: Database) -> sa.Row:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(db.tables.batches)).one()


def journal(db: Database) -> list[sa.Row]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(db.tables.journal)).all())


def count(db: Database, table: sa.Table, *where: Any) -> int:
    with db.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table)
        return int(connection.execute(query.where(*where)).scalar_one())


def test_daily_limit_stops_the_run_at_once_and_the_next_day_finishes_it(
    db: Database, config: SyncConfig, clock: ManualClock
) -> None:
    emulator = Emulator(clock=clock, limits=Limits(daily_calls=10), epoch=EPOCH)
    try:
        sync(db, config, emulator.transport(), clock)
    except LimitReachedError as error:
        assert error.code == "DAILY_LIMIT_EXCEEDED"
        assert "resets at 00:00 UTC" in str(error)
    else:
        raise AssertionError("the daily limit did not stop the run")
    assert emulator.stats.throttled["DAILY_LIMIT_EXCEEDED"] == 1  # refused once, not retried
    assert emulator.stats.requests == 11
    stopped = batch(db)
    assert stopped.status != BatchStatus.FAILED  # resumable
    assert "00:00 UTC" in stopped.error

    clock.advance(3600)  # past 00:00 UTC: a new day of calls
    outcome = sync(db, config, emulator.transport(), clock)
    assert outcome.exit_code == 0
    keys = board_keys(emulator)
    assert len(keys) == len(set(keys)) == LINES


def test_a_full_board_stops_the_batch_with_one_error_and_no_row_rejected(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    emulator.inject(
        Fault("alias_error", match="create_item", code="ItemsLimitationException", times=None)
    )
    try:
        sync(db, config, emulator.transport(), clock)
    except LimitReachedError as error:
        assert "10,000 items per board" in str(error)
    else:
        raise AssertionError("a full board did not stop the run")
    assert emulator.stats.faults["alias_error"] == 1  # one request, then the run stopped
    t = db.tables
    assert count(db, t.item_errors) == 0  # no row rejected one by one
    assert count(db, t.staged_items, t.staged_items.c.status == RowStatus.PENDING) == LINES
    assert batch(db).status == BatchStatus.STAGED  # resumable

    emulator.faults.clear()  # room made on the board
    assert sync(db, config, emulator.transport(), clock).exit_code == 0
    keys = board_keys(emulator)
    assert len(keys) == len(set(keys)) == LINES


def test_a_board_at_its_item_limit_stops_the_batch_after_what_fitted(
    db: Database, config: SyncConfig, clock: ManualClock
) -> None:
    emulator = Emulator(clock=clock, limits=Limits(items_per_board=30))
    try:
        sync(db, config, emulator.transport(), clock)
    except LimitReachedError as error:
        assert error.code == "ItemsLimitationException"
    else:
        raise AssertionError("the item limit did not stop the run")
    t = db.tables
    assert len(board_keys(emulator)) == 30  # the aliases that fitted were recorded ...
    assert count(db, t.staged_items, t.staged_items.c.status == RowStatus.DONE) == 30
    assert count(db, t.item_errors) == 0  # ... and none of the others was rejected
    assert batch(db).status == BatchStatus.STAGED

    emulator.store.items_per_board = None  # room made on the board
    assert sync(db, config, emulator.transport(), clock).exit_code == 0
    keys = board_keys(emulator)
    assert len(keys) == len(set(keys)) == LINES


def test_a_429_is_resent_under_a_fresh_key_journalled_first(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    emulator.inject(Fault("status", status=429, match="create_item", retry_in_seconds=5))
    assert sync(db, config, emulator.transport(), clock).exit_code == 0
    entries = journal(db)
    [refused] = [e for e in entries if e.state == JournalState.FAILED]
    assert refused.http_status == 429 and refused.kind == "CREATE_ITEMS"
    [resent] = [
        e for e in entries if e.aliases == refused.aliases and e.request_id != refused.request_id
    ]
    assert resent.state == JournalState.DONE
    assert resent.request_id in refused.error  # the old entry names the key that replaced it
    t = db.tables
    carried = count(db, t.staged_items, t.staged_items.c.request_id == resent.request_id)
    assert carried == len(json.loads(refused.aliases))
    keys = board_keys(emulator)
    assert len(keys) == len(set(keys)) == LINES


def test_a_crash_between_the_two_keys_is_resolved_and_duplicates_nothing(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    transport = CrashingTransport(
        emulator,
        {
            ("create_item", 1): Fault("status", status=429, match="create_item"),
            ("create_item", 2): "crash_before",  # the resend under the fresh key never leaves
        },
    )
    try:
        sync(db, config, transport, clock)
    except Crash:
        pass
    else:
        raise AssertionError("the run did not die")
    states = sorted(str(e.state) for e in journal(db) if e.kind == "CREATE_ITEMS")
    assert states == [JournalState.FAILED, JournalState.SENDING]  # the new key is journalled

    assert sync(db, config, transport, clock).exit_code == 0
    keys = board_keys(emulator)
    assert len(keys) == len(set(keys)) == LINES
    assert not [e for e in journal(db) if e.state == JournalState.SENDING]
