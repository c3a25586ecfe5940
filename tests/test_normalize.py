"""One normalisation of source values (the row hash itself: test_row_hash.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ordersync.column_types import COLUMN_TYPES
from ordersync.errors import RowRejected
from ordersync.push.normalize import (
    clean_text,
    normalize_quantity,
    order_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("  nan ", None),
        ("None", None),
        ("NULL", None),
        ("  GREYSON ", "GREYSON"),
        ('Café "Noir" 🧥', 'Café "Noir" 🧥'),
        (date(2025, 3, 1), "2025-03-01"),
        (12, "12"),
    ],
)
def test_clean_text(raw: object, expected: str | None) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("18.50", Decimal("18.5")),
        ("100", Decimal("100")),
        ("1,200.00", Decimal("1200")),
        (" 0.000 ", Decimal("0")),
        (7, Decimal("7")),
        (Decimal("2.250"), Decimal("2.25")),
        (1.5, Decimal("1.5")),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_numbers(raw: object, expected: Decimal | None) -> None:
    number = COLUMN_TYPES["numbers"].normalize(raw, "CUSTOMER PRICE")
    assert number == expected
    assert str(number) == str(expected)  # one spelling a value (Decimal("18.50") == 18.5 too)


@pytest.mark.parametrize("raw", ["TRUE", "false", "abc", "1.2.3", True, "Infinity", float("inf")])
def test_bad_numbers_are_rejected_with_the_column_named(raw: object) -> None:
    with pytest.raises(RowRejected) as caught:
        COLUMN_TYPES["numbers"].normalize(raw, "CUSTOMER PRICE")
    assert caught.value.code == "INVALID_NUMBER"
    assert "CUSTOMER PRICE" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date(2025, 7, 1), date(2025, 7, 1)),
        (datetime(2025, 7, 1, 13, 5), date(2025, 7, 1)),
        ("2025-07-01", date(2025, 7, 1)),
        ("2025-07-01 00:00:00", date(2025, 7, 1)),
        ("nan", None),
    ],
)
def test_dates(raw: object, expected: date | None) -> None:
    assert COLUMN_TYPES["date"].normalize(raw, "EX FACTORY DATE") == expected


def test_bad_date_is_rejected() -> None:
    with pytest.raises(RowRejected, match="EX FACTORY DATE") as caught:
        COLUMN_TYPES["date"].normalize("31/02/2025", "EX FACTORY DATE")
    assert caught.value.code == "INVALID_DATE"


def test_value_map_applies_to_labels() -> None:
    mapping = {"ACTIVE": "RECEIVED"}
    assert COLUMN_TYPES["dropdown"].normalize(" ACTIVE ", "ORDER TYPE", mapping) == "RECEIVED"
    assert COLUMN_TYPES["dropdown"].normalize("active", "ORDER TYPE", mapping) == "RECEIVED"
    assert COLUMN_TYPES["dropdown"].normalize("OTHER", "ORDER TYPE", mapping) == "OTHER"
    assert COLUMN_TYPES["status"].normalize("ACTIVE", "ORDER TYPE", mapping) == "RECEIVED"


def test_value_map_leaves_text_and_numbers_alone() -> None:
    """Only labels are mapped (what ``LineBuilder`` always did: the row hash depends on it)."""
    assert COLUMN_TYPES["text"].normalize("ACTIVE", "NOTE", {"ACTIVE": "X"}) == "ACTIVE"
    assert COLUMN_TYPES["numbers"].normalize("1", "QTY", {"1": "2"}) == Decimal(1)


@pytest.mark.parametrize(("raw", "qty"), [(None, 0), (0, 0), ("12", 12), (24, 24), ("nan", 0)])
def test_quantities(raw: object, qty: int) -> None:
    assert normalize_quantity(raw, "XS") == qty


@pytest.mark.parametrize(("raw", "code"), [(-1, "NEGATIVE_QUANTITY"), ("1.5", "INVALID_QUANTITY")])
def test_bad_quantities(raw: object, code: str) -> None:
    with pytest.raises(RowRejected) as caught:
        normalize_quantity(raw, "XS")
    assert caught.value.code == code


def test_order_key() -> None:
    assert order_key(("JOO-00505",)) == "JOO-00505"
    assert order_key(("JOO-00505", "GMK1", "SEA")) == '["JOO-00505", "GMK1", "SEA"]'
