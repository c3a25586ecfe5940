"""A line already on the board that turns bad in the source is rejected, not deleted: its
item stays on the board untouched until the row is fixed (a bad row never looks deleted)."""

from __future__ import annotations

import sqlalchemy as sa

from helpers.board_support import GREYSON, KEY_COLUMN, PRICE, active_items, mirror_item
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.states import MirrorState
from ordersync.sync import run_sync


def _set_price(db: Database, key: str, price: str) -> None:
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c["AAG ORDER NUMBER"] == key)
            .values({"CUSTOMER PRICE": price})
        )


def test_a_synced_line_that_turns_bad_stays_on_the_board(
    synced: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    key = sorted(active_items(emulator))[0]
    price = active_items(emulator)[key]["texts"][PRICE]
    _set_price(synced, key, "TRUE")  # not a number: the row is rejected at planning

    outcome = run_sync(synced, config, client, GREYSON)

    assert outcome.exit_code == 3
    assert (outcome.plan.rejected, outcome.plan.item_archives) == (1, 0)
    board = active_items(emulator)
    assert len(board) == 69 and board[key]["texts"][PRICE] == price
    assert board[key]["texts"][KEY_COLUMN] == key
    assert mirror_item(synced, key).state == MirrorState.ACTIVE
