"""Subitems reach monday in the source's size-column order (XS, S, M, L, XL …), as planners
read them: the order they appear under their item on the emulator's board."""

from __future__ import annotations

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.sync import run_sync

KEY_COLUMN, SIZE_COLUMN = "text_mkr5wya6", "dropdown_mkrak7qp"
GREYSON = Scope("GREYSON", "4755")


def test_subitems_are_created_in_size_column_order(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    source = reflect_source(db.engine, config)
    expected: dict[str, list[str]] = {}
    with db.engine.connect() as connection:
        for row in connection.execute(select_scope(source, config, GREYSON)).mappings():
            sizes = [size for size in source.size_columns if row[size]]
            expected[row["AAG ORDER NUMBER"]] = sizes

    run_sync(db, config, client, GREYSON)

    key_of = {i["id"]: i["texts"][KEY_COLUMN] for i in emulator.items(CMS_BOARD_ID)}
    on_board: dict[str, list[str]] = {}
    for sub in emulator.items(CMS_SUBITEMS_BOARD_ID):  # in creation order
        on_board.setdefault(key_of[sub["parent_id"]], []).append(sub["texts"][SIZE_COLUMN])
    assert on_board == expected
    # the demo lines have sizes whose column order is not alphabetical (XS before S)
    assert any(sizes != sorted(sizes) for sizes in on_board.values())
