"""A database with some history for the report, errors, metrics and dashboard tests: GREYSON PO
4755 synced (69 lines), RHONE's bad-rows PO synced (rejections), one hand edit pulled back as
drift, one webhook event waiting, and the board's lock held by a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from helpers.board_support import GREYSON, PRICE, Person, active_items
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.demo_data import BAD_ROWS_PO
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.pull.events import parse_event, store_event
from ordersync.pull.pull import pull_board
from ordersync.push.source import Scope
from ordersync.sync import SyncOutcome, run_sync

RHONE = Scope("RHONE", BAD_ROWS_PO)
LOCK_OWNER = "planner-pc:4242:abcd1234"
HAND_MADE = "Sample <b>rush</b> order"  # an item made by hand on monday (escaped when shown)


@dataclass
class History:
    db: Database
    greyson: SyncOutcome
    rhone: SyncOutcome
    drifted_key: str


def make_history(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> History:
    """Two syncs, a hand edit pulled back as drift, a pending event, a held lock."""
    greyson = run_sync(db, config, client, GREYSON)
    rhone = run_sync(db, config, client, RHONE)
    assert (greyson.exit_code, rhone.exit_code) == (0, 3)
    key = sorted(active_items(emulator))[0]
    person = Person(emulator)
    try:
        person.set(active_items(emulator)[key]["id"], {PRICE: "999"})
        person.create_item(HAND_MADE, {})
    finally:
        person.close()
    assert pull_board(db, config, client).drifted == 1
    event = {
        "boardId": CMS_BOARD_ID,
        "pulseId": 1,
        "type": "update_column_value",
        "triggerUuid": "u1",
    }
    assert store_event(db, event, parse_event(event))
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.locks.insert().values(
                board_id=CMS_BOARD_ID,
                owner=LOCK_OWNER,
                acquired_at=now,
                expires_at=now + timedelta(minutes=60),
            )
        )
    return History(db, greyson, rhone, key)


def error_rows(db: Database) -> list[sa.Row]:
    """Every ERR row (items and subitems), straight from the tables."""
    with db.engine.connect() as connection:
        return [
            *connection.execute(sa.select(db.tables.item_errors)),
            *connection.execute(sa.select(db.tables.subitem_errors)),
        ]
