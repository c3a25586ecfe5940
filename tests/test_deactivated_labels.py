"""A label deactivated on monday is treated as missing: the row is rejected at delivery as an
UNKNOWN_LABEL that says so, before any mutation carries it (monday refuses it as a target,
whatever ``create_labels_if_missing`` says)."""

from __future__ import annotations

import sqlalchemy as sa

from helpers.support import first_line_of_po
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")
UOM, SIZE = "color_mkr5yf27", "dropdown_mkrak7qp"


def test_deactivated_labels_reject_the_row_as_missing(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    target = first_line_of_po(db, **{"UNIT OF MEASURE": "PACK"})
    emulator.deactivate_label(CMS_BOARD_ID, UOM, "PACK")
    emulator.deactivate_label(CMS_SUBITEMS_BOARD_ID, SIZE, "M")  # sizes may create labels

    outcome = run_sync(db, config, client, GREYSON)

    assert outcome.exit_code == 3
    with db.engine.connect() as connection:
        item_errors = connection.execute(sa.select(db.tables.item_errors)).all()
        size_errors = connection.execute(sa.select(db.tables.subitem_errors)).all()
    assert target in {e.order_key for e in item_errors}  # and any other PACK line
    assert {e.error_code for e in item_errors} == {"UNKNOWN_LABEL"}
    assert all("'PACK' is deactivated" in e.message for e in item_errors)
    rejected_sizes = [e for e in size_errors if e.error_code == "UNKNOWN_LABEL"]
    assert rejected_sizes and all("'M' is deactivated" in e.message for e in rejected_sizes)
    # nothing on the board carries a deactivated label: monday was never asked to write one
    assert emulator.stats.errors["ColumnValueException"] == 0
    subitems = emulator.items(CMS_SUBITEMS_BOARD_ID)
    assert subitems and all(s["texts"][SIZE] != "M" for s in subitems)
