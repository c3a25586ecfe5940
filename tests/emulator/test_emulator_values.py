"""Column value validation, storage and text rendering, per column type."""

from __future__ import annotations

from typing import Any

import pytest

from ordersync.emulator.api_errors import MondayAPIError
from ordersync.emulator.column_settings import dropdown_settings, set_deactivated, status_settings
from ordersync.emulator.model import Board, Column
from ordersync.emulator.values import (
    ValueWriter,
    parse_column_values,
    stored_json,
    stored_text,
    validate_item_name,
)

NOW = "2026-01-01T00:00:00Z"


def _board() -> Board:
    columns = [
        Column("text", "Text", "text"),
        Column("long", "Long", "long_text"),
        Column("num", "Num", "numbers"),
        Column("status", "Status", "status", status_settings([(0, "EACH"), (1, "PACK")])),
        Column("drop", "Drop", "dropdown", dropdown_settings(["XS"])),
        Column("date", "Date", "date"),
        Column("name", "Name", "name"),
        Column("sub", "Subitems", "subtasks"),
        Column("pulse", "Item ID", "item_id"),
    ]
    return Board("1", "Board", {c.id: c for c in columns}, {})


@pytest.mark.parametrize(
    ("column_id", "raw", "text"),
    [
        ("text", "JOO-00505", "JOO-00505"),
        ("text", 4755, "4755"),
        ("long", {"text": "a\nb"}, "a\nb"),
        ("long", "plain", "plain"),
        ("num", "42", "42"),
        ("num", " -1.5 ", "-1.5"),
        ("num", 12, "12"),
        ("num", 0.25, "0.25"),
        ("status", {"label": "PACK"}, "PACK"),
        ("status", {"index": 0}, "EACH"),
        ("status", "EACH", "EACH"),
        ("drop", {"labels": ["XS"]}, "XS"),
        ("drop", {"ids": [1]}, "XS"),
        ("drop", "XS", "XS"),
        ("date", {"date": "2025-02-28"}, "2025-02-28"),
        ("date", {"date": "2025-02-28", "time": "10:30:00"}, "2025-02-28 10:30:00"),
        ("date", "2024-02-29", "2024-02-29"),
        ("text", None, ""),
        ("num", "", ""),
        ("status", {}, ""),
        ("drop", {"labels": []}, ""),
    ],
)
def test_valid_values_store_and_render(column_id: str, raw: Any, text: str) -> None:
    board = _board()
    column = board.columns[column_id]
    stored = ValueWriter(board, create_labels=False, changed_at=NOW).convert(column, raw)
    assert stored_text(column, stored) == text
    assert (stored_json(stored) is None) == (text == "")


@pytest.mark.parametrize(
    ("column_id", "raw"),
    [
        ("text", {"text": "x"}),
        ("text", True),
        ("long", {"body": "x"}),
        ("num", "nan"),
        ("num", "None"),
        ("num", "TRUE"),
        ("num", "1,000"),
        ("num", {"number": 1}),
        ("status", {"label": "CASE"}),
        ("status", {"index": 9}),
        ("status", ["EACH"]),
        ("drop", {"labels": ["XXL"]}),
        ("drop", {"ids": [7]}),
        ("drop", {"ids": [1], "labels": ["XS"]}),
        ("date", {"date": "2025-02-30"}),
        ("date", "28/02/2025"),
        ("date", {"date": "2025-02-28", "time": "noon"}),
        ("sub", {"linkedPulseIds": []}),
        ("pulse", "1"),
    ],
)
def test_invalid_values_raise_column_value_exception(column_id: str, raw: Any) -> None:
    board = _board()
    with pytest.raises(MondayAPIError) as caught:
        ValueWriter(board, create_labels=False, changed_at=NOW).convert(
            board.columns[column_id], raw
        )
    assert caught.value.code == "ColumnValueException"
    assert caught.value.error_data["column_id"] == column_id


def test_labels_are_created_only_on_commit() -> None:
    board = _board()
    writer = ValueWriter(board, create_labels=True, changed_at=NOW)
    status = writer.convert(board.columns["status"], {"label": "CASE"})
    drop = writer.convert(board.columns["drop"], {"labels": ["XS", "XXL", "XXL"]})
    assert _labels(board.columns["status"]) == [(0, "EACH"), (1, "PACK")]
    writer.commit()
    assert _labels(board.columns["status"])[-1] == (2, "CASE")
    assert status["index"] == 2
    assert drop["ids"] == [1, 2]
    assert stored_text(board.columns["drop"], drop) == "XS, XXL"


def test_new_status_labels_skip_index_five() -> None:
    board = _board()
    board.columns["status"].settings = status_settings((i, f"L{i}") for i in (0, 1, 2, 3, 4))
    writer = ValueWriter(board, create_labels=True, changed_at=NOW)
    assert writer.convert(board.columns["status"], "NEW")["index"] == 6


@pytest.mark.parametrize("raw", ['{"num": "1"}', {"num": "1"}, None, ""])
def test_column_values_accept_a_json_string_or_an_object(raw: Any) -> None:
    assert parse_column_values(raw) in ({"num": "1"}, {})


@pytest.mark.parametrize(
    ("raw", "code"), [("{not json", "JsonParseException"), ("[1]", "ColumnValueException")]
)
def test_column_values_must_be_a_json_object(raw: str, code: str) -> None:
    with pytest.raises(MondayAPIError) as caught:
        parse_column_values(raw)
    assert caught.value.code == code


@pytest.mark.parametrize("name", ["", "   ", "x" * 256, None])
def test_item_names_are_one_to_255_characters(name: Any) -> None:
    with pytest.raises(MondayAPIError) as caught:
        validate_item_name(name)
    assert caught.value.code == "ItemNameTooLongException"
    assert validate_item_name("x" * 255) == "x" * 255


def _labels(column: Column) -> list[tuple[int, str]]:
    return [(label["index"], label["label"]) for label in column.settings["labels"]]


@pytest.mark.parametrize(
    ("column_id", "raw"),
    [
        ("status", {"label": "PACK"}),
        ("status", {"index": 1}),
        ("status", "PACK"),
        ("drop", {"labels": ["XS"]}),
        ("drop", {"ids": [1]}),
    ],
)
@pytest.mark.parametrize("create_labels", [False, True])
def test_a_deactivated_label_is_not_a_valid_target(
    column_id: str, raw: Any, create_labels: bool
) -> None:
    board = _board()
    before = ValueWriter(board, create_labels=False, changed_at=NOW)
    stored = before.convert(board.columns[column_id], raw)
    label = "PACK" if column_id == "status" else "XS"
    assert set_deactivated(board.columns[column_id].settings, label)
    writer = ValueWriter(board, create_labels=create_labels, changed_at=NOW)
    with pytest.raises(MondayAPIError) as caught:
        writer.convert(board.columns[column_id], raw)
    assert caught.value.code == "ColumnValueException"
    writer.commit()
    assert len(board.columns[column_id].settings["labels"]) == (2 if column_id == "status" else 1)
    # a value that already holds it keeps its text
    assert stored_text(board.columns[column_id], stored) == label
