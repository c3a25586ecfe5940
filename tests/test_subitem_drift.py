"""A quantity changed by hand on a subitem (and nothing else on its line) is drift: the pull
reports it and marks the line for planning, and the next sync puts the quantity back."""

from __future__ import annotations

import sqlalchemy as sa

from helpers.board_support import (
    GREYSON,
    ORDER_QTY,
    Person,
    active_items,
    active_subitems,
    mirror_item,
)
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.pull.pull import pull_board
from ordersync.sync import run_sync


def test_a_hand_edited_subitem_quantity_alone_is_put_back_by_the_next_sync(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    key = sorted(active_items(emulator))[0]
    parent = active_items(emulator)[key]["id"]
    subitem = next(s for s in active_subitems(emulator) if s["parent_id"] == parent)
    quantity = subitem["texts"][ORDER_QTY]
    person.set(subitem["id"], {ORDER_QTY: "7"}, subitem=True)

    report = pull_board(synced, config, client)

    assert [(d.column_id, d.on_board) for d in report.drifts] == [(ORDER_QTY, "7")]
    assert mirror_item(synced, key).row_hash is None  # the line is planned again
    outcome = run_sync(synced, config, client, GREYSON)
    assert outcome.exit_code == 0
    after = next(s for s in active_subitems(emulator) if s["id"] == subitem["id"])
    assert after["texts"][ORDER_QTY] == quantity
    assert pull_board(synced, config, client).drifted == 0
    assert run_sync(synced, config, client, GREYSON).status == "NO_CHANGES"


def test_a_quantity_the_sync_changed_is_recorded_and_not_mistaken_for_drift(
    synced: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    key = sorted(active_items(emulator))[0]
    parent = active_items(emulator)[key]["id"]
    subitem = next(s for s in active_subitems(emulator) if s["parent_id"] == parent)
    size = subitem["name"]
    source = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=synced.engine)
    with synced.engine.begin() as connection:
        connection.execute(
            source.update().where(source.c["AAG ORDER NUMBER"] == key).values({size: 999})
        )

    assert run_sync(synced, config, client, GREYSON).exit_code == 0

    after = next(s for s in active_subitems(emulator) if s["id"] == subitem["id"])
    assert after["texts"][ORDER_QTY] == "999"
    mirror = synced.tables.subitems
    with synced.engine.connect() as connection:
        qty = connection.execute(
            sa.select(mirror.c.qty).where(mirror.c.monday_subitem_id == subitem["id"])
        ).scalar_one()
    assert qty == 999
    assert pull_board(synced, config, client).drifted == 0
    assert run_sync(synced, config, client, GREYSON).status == "NO_CHANGES"
