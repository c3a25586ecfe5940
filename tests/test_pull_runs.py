"""Each pull leaves a record (counts and report samples) that outlives the command."""

from __future__ import annotations

import pytest

from helpers.board_support import Person
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.pull.pull import pull_board
from ordersync.pull.runs import last_pull_runs


@pytest.fixture
def db(synced: Database) -> Database:
    """GREYSON PO 4755 after a sync (``synced``: a copy of the session's template)."""
    return synced


def test_a_pull_is_recorded_with_its_report(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    assert last_pull_runs(db) == []
    person = Person(emulator)
    try:
        made = person.create_item("made by hand", {})
    finally:
        person.close()
    first = pull_board(db, config, client)
    (run,) = last_pull_runs(db)
    assert run.board_id == CMS_BOARD_ID and run.started_at <= run.finished_at
    assert run.report["items_read"] == first.items_read > 0
    assert run.report["unknown_items"] == 1
    assert run.report["unknown_samples"][0]["monday_id"] == made
    assert run.report["unknown_samples"][0]["name"] == "made by hand"

    second = pull_board(db, config, client)
    (latest,) = last_pull_runs(db)  # the latest per board
    assert latest.finished_at >= run.finished_at and second.unknown_items == 1
    with db.engine.connect() as connection:
        count = connection.execute(
            db.tables.pull_runs.select().with_only_columns(db.tables.pull_runs.c.run_id)
        ).all()
    assert len(count) == 2
