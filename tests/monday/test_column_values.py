"""Column value formats, both ways, as tables."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordersync.monday.column_values import from_monday, to_monday


@pytest.mark.parametrize(
    ("column_type", "value", "expected"),
    [
        ("text", "JOO-00505", "JOO-00505"),
        ("text", "", ""),
        ("text", 4755, "4755"),
        ("long_text", "two\nlines", {"text": "two\nlines"}),
        ("numbers", 42, "42"),
        ("numbers", -3, "-3"),
        ("numbers", Decimal("42.50"), "42.5"),
        ("numbers", Decimal("1E+2"), "100"),
        ("numbers", Decimal("0.000"), "0"),
        ("numbers", 0.1, "0.1"),
        ("numbers", " 12.0 ", "12"),
        ("numbers", "", None),
        ("status", "Done", {"label": "Done"}),
        ("dropdown", "RECEIVED", {"labels": ["RECEIVED"]}),
        ("dropdown", ["S", "M"], {"labels": ["S", "M"]}),
        ("dropdown", ("2T",), {"labels": ["2T"]}),
        ("date", date(2025, 3, 1), {"date": "2025-03-01"}),
        ("date", datetime(2025, 3, 1, 23, 59), {"date": "2025-03-01"}),
        ("date", "2025-03-01", {"date": "2025-03-01"}),
        ("date", "2025-03-01T10:00:00Z", {"date": "2025-03-01"}),
        ("date", "   ", None),
        ("text", None, None),
        ("numbers", None, None),
        ("status", None, None),
        ("dropdown", None, None),
        ("date", None, None),
        ("long_text", None, None),
    ],
)
def test_to_monday(column_type: str, value: Any, expected: Any) -> None:
    assert to_monday(column_type, value) == expected


@pytest.mark.parametrize(
    ("column_type", "value"),
    [
        ("numbers", "nan"),
        ("numbers", "12 pcs"),
        ("numbers", "None"),
        ("numbers", float("inf")),
        ("numbers", True),
        ("numbers", [1]),
        ("date", "01/03/2025"),
        ("date", "2025-02-30"),
        ("date", 20250301),
        ("text", {"a": 1}),
        ("dropdown", []),
        ("people", "x"),
    ],
)
def test_to_monday_rejects(column_type: str, value: Any) -> None:
    with pytest.raises(ValueError):
        to_monday(column_type, value)


def test_to_monday_numbers_are_strings_monday_accepts() -> None:
    # monday wants numbers as JSON strings, never JSON numbers.
    assert json.dumps(to_monday("numbers", 7)) == '"7"'


@pytest.mark.parametrize(
    ("column_type", "value", "text", "expected"),
    [
        ("text", '"JOO-00505"', "JOO-00505", "JOO-00505"),
        ("text", "JOO-00505", "JOO-00505", "JOO-00505"),
        ("text", None, None, None),
        ("text", '""', "", None),
        ("long_text", '{"text": "a note", "changed_at": "2025"}', "a note", "a note"),
        ("long_text", None, "fallback", "fallback"),
        ("numbers", '"42.5"', "42.5", Decimal("42.5")),
        ("numbers", "42", "42", Decimal("42")),
        ("numbers", 7, "7", Decimal("7")),
        ("numbers", '"123456789.123456789"', None, Decimal("123456789.123456789")),
        ("numbers", None, "", None),
        ("numbers", None, "12", Decimal("12")),
        ("status", '{"index": 1, "post_id": null}', "Done", "Done"),
        ("status", {"label": "Done"}, None, "Done"),
        ("status", None, None, None),
        ("dropdown", '{"ids": [1, 2]}', "S, M", "S, M"),
        ("dropdown", {"labels": ["S", "M"]}, None, "S, M"),
        ("dropdown", {"labels": ["RECEIVED"]}, "RECEIVED", "RECEIVED"),
        ("date", '{"date": "2025-03-01", "time": null}', "2025-03-01", date(2025, 3, 1)),
        ("date", {"date": "2025-03-01"}, None, date(2025, 3, 1)),
        ("date", None, "2025-03-01 10:00", date(2025, 3, 1)),
        ("date", None, None, None),
        ("subtasks", '{"linkedPulseIds": []}', "M, L", "M, L"),
        ("item_id", None, "", None),
    ],
)
def test_from_monday(column_type: str, value: Any, text: str | None, expected: Any) -> None:
    assert from_monday(column_type, value, text) == expected


def test_from_monday_rejects_non_numeric_number() -> None:
    with pytest.raises(ValueError):
        from_monday("numbers", '"twelve"', "twelve")


@pytest.mark.parametrize(
    ("column_type", "value", "text"),
    [
        ("text", "AAG-1", "AAG-1"),
        ("long_text", "line one\nline two", "line one\nline two"),
        ("numbers", Decimal("19.99"), "19.99"),
        ("status", "Done", "Done"),
        ("dropdown", "XS", "XS"),
        ("date", date(2025, 12, 31), "2025-12-31"),
    ],
)
def test_round_trip(column_type: str, value: Any, text: str) -> None:
    written = to_monday(column_type, value)
    assert from_monday(column_type, json.dumps(written), text) == value
