"""One source row → one order line: names, groups, values, sizes, and every kind of rejection."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersync.column_types import COLUMN_TYPES
from ordersync.config import SyncConfig
from ordersync.errors import RowRejected
from ordersync.push import lines
from ordersync.push.lines import (
    LineBuilder,
    LineProblems,
    OrderLine,
    build_order_line,
    encode_values,
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
    assert (
        json.loads(values_json)
        == line.monday_values
        == {
            "date_mkr57811": {"date": "2025-07-01"},
            "dropdown_mkr518fc": {"labels": ["RECEIVED"]},
            "dropdown_mkr542p2": {"labels": ["GREYSON"]},
            "dropdown_mkr5677f": {"labels": ["WHITE"]},
            "dropdown_mkr58de6": {"labels": ["25FA"]},
            "dropdown_mkr5rgs6": {"labels": ["2025 FALL"]},
            "dropdown_mkr5tgaa": {"labels": ["GMK1234"]},
            "long_text_mkr5hass": {"text": 'Café "Noir" 🧥'},
            "numeric_mkr5cact": "18.5",
            "text_mkr5ej2x": "4755",
            "text_mkr5wya6": "JOO-00505",
        }
    )
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


# --- values_json, spliced from remembered fragments -----------------------------------------
def _plainly(config: SyncConfig, row: dict[str, object]) -> tuple[dict[str, object], str]:
    """A row's values and ``values_json`` worked out the plain way, column by column: no memo,
    the monday values encoded as one dict by ``encode_values`` (what the row hash is over)."""
    values: dict[str, object] = {}
    monday_values: dict[str, object] = {}
    for column in config.items.columns:
        kind = COLUMN_TYPES[column.type]
        try:
            if column.transform == "canonical_customer":
                raw = row.get(config.source.customer_column)
                value = config.canonical_customer(str(raw or ""))
            else:
                value = kind.normalize(row.get(column.source), column.source, column.value_map)
        except RowRejected:
            continue
        values[column.column_id] = value
        if value is not None:
            monday_values[column.column_id] = kind.to_monday(value)
    return values, encode_values(monday_values)


_ODD_CELLS = [
    'say "hi"',
    "back\\slash",
    "two\nlines\ttab",
    "Café 🧥 \u2028 \x00 \x1f",
    "  padded  ",
    "nan",
    "",
    None,
    "18.50",
    "-0",
    "1,234.5",
    "1e3",
    "TRUE",
    "2025-07-01",
    "2025-07-01 10:00:00",
    "2025-02-30",
    date(2025, 7, 1),
    datetime(2025, 7, 1, 23, 30),
    datetime(2025, 7, 1, 23, 30, tzinfo=UTC),
    0,
    1,
    True,
    0.0,
    -0.0,
    1.5,
    Decimal("1.0"),
    Decimal("1.00"),
    Decimal("-0"),
    ["A", "B"],  # unhashable
    "ACTIVE",  # mapped to a label
    "GREYSON CLOTHIERS",  # a customer alias
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_spliced_values_are_the_canonical_encoding(config: SyncConfig, data: st.DataObject) -> None:
    """Property: whatever the cells, and whatever a builder remembers from earlier rows, a
    line's values and ``values_json`` are those worked out plainly (the row hash is taken over
    that text: it must never change)."""
    builder = LineBuilder(config, SIZES)
    sources = [*builder.payload_columns, config.source.customer_column]
    cells = st.one_of(st.sampled_from(_ODD_CELLS), st.text(max_size=8), st.integers())
    for _ in range(3):  # a builder that has seen other rows: its memos answer too
        row = {source: data.draw(cells, label=source) for source in sources}
        values, values_json = builder._values(row, [], [])
        assert (values, values_json) == _plainly(config, row)
        assert json.loads(values_json) == json.loads(_plainly(config, row)[1])


@pytest.mark.parametrize(
    ("source", "first", "then"),
    [
        ("PO NUMBER", Decimal("1.0"), Decimal("1.00")),  # equal, but not the same text
        ("PO NUMBER", 0.0, -0.0),
        ("PO NUMBER", 1, True),  # equal, and of the same hash
        ("PO NUMBER", "x", ["x"]),  # unhashable
        ("CUSTOMER PRICE", 1, True),  # a number, then a boolean (rejected)
        ("CUSTOMER PRICE", "1", "TRUE"),
        ("CUSTOMER PRICE", Decimal("1.0"), Decimal("1.00")),  # the same number
        ("CUSTOMER PRICE", 0.0, -0.0),
        ("CUSTOMER PRICE", Decimal("1.5"), 1.5),
        ("ORDER TYPE", "ACTIVE", Decimal("1.0")),  # a mapped label column
        ("ORDER TYPE", Decimal("1.0"), Decimal("1.00")),
        (
            "EX FACTORY DATE",
            datetime(2025, 7, 1, 23, 30, tzinfo=UTC),  # equal instants, not the same day
            datetime(2025, 7, 1, 23, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=2))),
        ),
        ("EX FACTORY DATE", datetime(2025, 7, 1, 23, 30), date(2025, 7, 1)),
    ],
)
def test_a_builder_remembers_nothing_that_changes_a_line(
    config: SyncConfig, source: str, first: object, then: object
) -> None:
    """A builder that has built a row with ``first`` builds one with ``then`` exactly as a new
    builder does (its memos must not confuse equal values that do not read the same)."""
    builder = LineBuilder(config, SIZES)
    builder.build(_row(**{source: first}))
    seasoned = builder.build(_row(**{source: then}))
    fresh = build_order_line(_row(**{source: then}), config, SIZES)
    assert type(seasoned) is type(fresh)
    if isinstance(seasoned, OrderLine):
        assert isinstance(fresh, OrderLine)
        assert (seasoned.values, seasoned.values_json) == (fresh.values, fresh.values_json)
        assert seasoned.row_hash == fresh.row_hash
        assert seasoned.values == _plainly(config, _row(**{source: then}))[0]
    else:
        assert isinstance(fresh, LineProblems)
        assert [p.code for p in seasoned.problems] == [p.code for p in fresh.problems]


def test_a_bad_value_is_rejected_every_time(config: SyncConfig) -> None:
    builder = LineBuilder(config, SIZES)
    for _ in range(3):
        line = builder.build(_row(**{"CUSTOMER PRICE": "abc"}))
        assert isinstance(line, LineProblems)
        assert [p.code for p in line.problems] == ["INVALID_NUMBER"]


def test_memos_stay_bounded(config: SyncConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "_MEMO_SIZE", 5)
    builder = LineBuilder(config, SIZES)
    built = [builder.build(_row(**{"CUSTOMER PRICE": str(n)})) for n in range(20)]
    assert [line.values["numeric_mkr5cact"] for line in built] == [Decimal(n) for n in range(20)]
    assert all(len(rule.memo) <= 5 for rule in builder.rules)
    assert max(len(rule.memo) for rule in builder.rules) == 5
