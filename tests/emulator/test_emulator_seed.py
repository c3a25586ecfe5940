"""The seeded boards match the real Customer Master Schedule mapping."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.emulator.seed import CMS_COLUMNS, CMS_SUBITEM_COLUMNS

ITEM_ROWS = {"items", "items (monday-only)"}
SUBITEM_ROWS = {"subitems", "subitems (monday-only)"}


def _csv_columns(path: Path, boards: set[str]) -> set[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        (row["monday_column_id"], row["monday_title"], row["monday_type"])
        for row in rows
        if row["board"] in boards
    }


def test_seed_has_exactly_the_mapping_columns(shared_file: Callable[[str], Path]) -> None:
    path = shared_file("domain/cms_board_mapping.csv")
    assert {(c.id, c.title, c.type) for c in CMS_COLUMNS} == _csv_columns(path, ITEM_ROWS)
    assert {(c.id, c.title, c.type) for c in CMS_SUBITEM_COLUMNS} == _csv_columns(
        path, SUBITEM_ROWS
    )


def test_subitems_board_is_linked_from_the_subtasks_column(emu: Emulator) -> None:
    board = emu.store.board(CMS_BOARD_ID)
    subtasks = [c for c in board.columns.values() if c.type == "subtasks"]
    assert [c.settings["boardIds"] for c in subtasks] == [[CMS_SUBITEMS_BOARD_ID]]
    subitems_board = emu.store.board(CMS_SUBITEMS_BOARD_ID)
    assert subitems_board.parent_board_id == str(CMS_BOARD_ID)
    assert "name" in subitems_board.columns


def test_seed_labels_and_groups(emu: Emulator) -> None:
    board = emu.store.board(CMS_BOARD_ID)
    subitems = emu.store.board(CMS_SUBITEMS_BOARD_ID)
    assert _names(board.columns["color_mkr5yf27"].settings) == ["EACH", "PACK", "SET", "DOZEN"]
    assert board.columns["dropdown_mkr518fc"].settings["labels"] == [
        {"id": 1, "label": "RECEIVED", "is_deactivated": False},
        {"id": 2, "label": "CANCELLED", "is_deactivated": False},
    ]
    assert _names(board.columns["color_mkrerxrs"].settings) == ["YES", "NO"]
    assert board.columns["dropdown_mkr542p2"].settings["labels"] == []
    assert _names(subitems.columns["dropdown_mkrak7qp"].settings) == ["XS", "S", "M", "L", "XL"]
    statuses = subitems.columns["color_mkrbezbh"].settings
    assert _names(statuses) == ["NOT STARTED", "IN PRODUCTION", "PACKED", "SHIPPED"]
    assert list(board.groups) == ["topics"]


def test_unseeded_emulator_has_no_boards() -> None:
    assert Emulator(seed=False).store.boards == {}


def _names(settings: dict[str, Any]) -> list[str]:
    return [label["label"] for label in settings["labels"]]
