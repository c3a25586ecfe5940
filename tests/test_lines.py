"""One source row → one order line: names, groups, values, sizes, and every kind of rejection."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from ordersync.config import SyncConfig
from ordersync.push.lines import (
    LineProblems,
    OrderLine,
    build_order_line,
    hash_encoded,
    read_line_json,
    split_line_json,
)

SIZES = ("XS", "S", "M", "INFOR COLOUR CODE")[:3]


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "AAG ORDER NUMBER": "JOO-00505",
        "CUSTOMER NAME": "GREYSON CLOTHIERS",
        "PO NUMBER": "4755",
        "CUSTOMER SEASON": "2025 FALL",
        "AAG SEASON": "25FA",
        "CUSTOMER STYLE": "GMK1234",
        "CUSTOMER COLOUR DESCRIPTION": "WHITE",
        "ORDER TYPE": "ACTIVE",
        "CUSTOMER PRICE": "18.50",
        "EX FACTORY DATE": date(2025, 7, 1),
        "NOTES": 'Café "Noir" 🧥',
        "XS": 12,
        "S": None,
        "M": 0,
    }
    row.update(overrides)
    return row


def _line(config: SyncConfig, **overrides: object) -> OrderLine:
    line = build_order_line(_row(**overrides), config, SIZES)
    assert isinstance(line, OrderLine), line
    return line


def _problems(config: SyncConfig, **overrides: object) -> list[str]:
    line = build_order_line(_row(**overrides), config, SIZES)
    assert isinstance(line, LineProblems), line
    return [p.code for p in line.problems]


def test_a_clean_row(config: SyncConfig) -> None:
    line = _line(config)
    assert line.order_key == "JOO-00505"
    assert line.item_name == "GMK1234WHITEJOO-00505"
    assert line.group_title == "GREYSON 2025 FALL"
    assert line.customer == "GREYSON"
    assert line.sizes == {"XS": 12}
    assert line.values["text_mkr5wya6"] == "JOO-00505"
    assert line.values["dropdown_mkr542p2"] == "GREYSON"  # canonical customer
    assert line.values["dropdown_mkr518fc"] == "RECEIVED"  # ACTIVE → RECEIVED
    assert line.values["numeric_mkr5cact"] == Decimal("18.5")
    assert line.values["date_mkr57811"] == date(2025, 7, 1)
    assert line.values["long_text_mkr5hass"] == 'Café "Noir" 🧥'


def test_group_falls_back_to_aag_season(config: SyncConfig) -> None:
    assert _line(config, **{"CUSTOMER SEASON": "nan"}).group_title == "GREYSON 25FA"
    assert _line(config, **{"CUSTOMER SEASON": None, "AAG SEASON": ""}).group_title == "GREYSON"


def test_hash_changes_with_any_mapped_value_only(config: SyncConfig) -> None:
    base = _line(config).row_hash
    assert _line(config, **{"CUSTOMER PRICE": "18.5"}).row_hash == base
    assert _line(config, **{"CUSTOMER PRICE": "19"}).row_hash != base
    assert _line(config, **{"NOTES": "other"}).row_hash != base
    assert _line(config, **{"MONTH": "JULY"}).row_hash == base  # not mapped


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({"AAG ORDER NUMBER": None}, ["MISSING_KEY"]),
        ({"AAG ORDER NUMBER": " nan "}, ["MISSING_KEY"]),
        ({"CUSTOMER PRICE": "TRUE"}, ["INVALID_NUMBER"]),
        ({"EX FACTORY DATE": "soon"}, ["INVALID_DATE"]),
        ({"XS": -5}, ["NEGATIVE_QUANTITY"]),
        ({"CUSTOMER STYLE": "X" * 300}, ["ITEM_NAME_TOO_LONG"]),
        ({"CUSTOMER PRICE": "abc", "XS": -1}, ["INVALID_NUMBER", "NEGATIVE_QUANTITY"]),
    ],
)
def test_bad_rows_are_rejected_with_every_reason(
    config: SyncConfig, overrides: dict[str, object], codes: list[str]
) -> None:
    assert _problems(config, **overrides) == codes


def test_rejection_keeps_the_payload(config: SyncConfig) -> None:
    line = build_order_line(_row(**{"CUSTOMER PRICE": "TRUE"}), config, SIZES)
    assert isinstance(line, LineProblems)
    assert line.payload["CUSTOMER PRICE"] == "TRUE"
    assert line.payload["AAG ORDER NUMBER"] == "JOO-00505"


def test_skip_value_policy_warns_instead_of_rejecting(config: SyncConfig) -> None:
    columns = [
        c.model_copy(update={"on_invalid": "skip_value"}) if c.source == "CUSTOMER PRICE" else c
        for c in config.items.columns
    ]
    lenient = config.model_copy(
        update={"items": config.items.model_copy(update={"columns": columns})}
    )
    line = build_order_line(_row(**{"CUSTOMER PRICE": "TRUE"}), lenient, SIZES)
    assert isinstance(line, OrderLine)
    assert "numeric_mkr5cact" not in line.values
    assert [w.code for w in line.warnings] == ["INVALID_NUMBER"]


def test_the_scan_line_keeps_the_values_as_encoded(config: SyncConfig) -> None:
    """Staging takes the values' text from the scan line as it is (``split_line_json``): it
    must be the text the row hash was taken over, and decode to the line's values."""
    line = _line(config)
    fields, values_json = split_line_json(line.to_json())
    assert values_json == line.values_json
    assert hash_encoded(line.item_name, line.group_title, values_json, line.sizes) == line.row_hash
    assert json.loads(values_json) == line.monday_values
    assert (fields["item_name"], fields["sizes"], fields["customer"]) == (
        line.item_name,
        {"XS": 12},
        "GREYSON",
    )
    assert read_line_json(line.to_json()) == {**fields, "monday_values": line.monday_values}
    assert read_line_json("{}") == {}  # a line never built


@pytest.mark.parametrize(
    ("cells", "sizes", "codes"),
    [
        ({"XS": 12, "S": None, "M": 0}, {"XS": 12}, []),  # INT columns: the fast path
        ({"XS": -1, "S": None, "M": 0}, None, ["NEGATIVE_QUANTITY"]),
        ({"XS": 12, "S": False, "M": 0.0}, None, ["INVALID_QUANTITY"]),  # a bool is no number
        ({"XS": 12, "S": "", "M": 0.0}, {"XS": 12}, []),
        ({"XS": "12", "S": " 3 ", "M": "0"}, {"XS": 12, "S": 3}, []),
    ],
    ids=["ints", "negative", "bool", "empty-text", "text"],
)
def test_size_cells_of_any_type(
    config: SyncConfig, cells: dict[str, object], sizes: dict[str, int] | None, codes: list[str]
) -> None:
    """Cells of INT columns (ints and NULLs) skip their empty cells in C; any other kind of
    cell is read one by one, so a falsy one that is not empty is still seen."""
    if sizes is None:
        assert _problems(config, **cells) == codes
    else:
        assert _line(config, **cells).sizes == sizes
