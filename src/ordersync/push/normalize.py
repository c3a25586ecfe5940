"""The one normalisation of source values (the row hash, ``lines.line_hash``, is built on it).

Source tables hold business values as text (``'18.50'``, ``'nan'``, ``'TRUE'``, ``''``), so
every value is normalised once, by the rules here, for the board column type it is bound for
(``column_types``: numbers and dates are parsed, text and labels cleaned). The row hash
is a sha256 over the board values made from those normalised values, so it is the same
whichever database held the data.

A value is never changed silently. These are the only normalisations; anything else that does
not read as its column's type is rejected (``INVALID_NUMBER``, ``INVALID_DATE``, …):

* surrounding whitespace is removed; ``''``, ``nan``, ``None``, ``NULL``, ``NaT`` and ``n/a``
  (any case) mean an empty cell;
* numbers: ASCII digits, an optional sign, an optional decimal point and exponent
  (``18.50``, ``-3``, ``.5``, ``1e3``). One spelling per value: ``18.50`` = ``18.5``,
  ``-0`` = ``0``, ``1E+2`` = ``100``. A comma is accepted only as a thousands separator where
  that is unambiguous: groups of exactly three digits after a first group of one to three
  (``1,234``, ``1,234,567.50``); ``18,50``, ``1,2,3``, ``1.000,50`` and ``12,5`` are rejected.
  Other digits (``١٢``, ``１２``), ``Infinity`` and numbers that cannot be held exactly
  (more than ``MAX_DIGITS`` significant digits, ``1e28`` and up, or more than ``MAX_DIGITS``
  decimal places) are rejected;
* dates: ``YYYY-MM-DD`` (ASCII digits, a real calendar day), optionally followed by a time
  (``2025-07-01 00:00:00``), which the date column does not keep.
* status and dropdown values: the column's ``value_map`` replaces a value it names (as written,
  else upper-cased) by its label.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from decimal import Decimal

from ordersync.errors import RowRejected

# Written by spreadsheets and pandas exports for "no value"; they mean an empty cell.
EMPTY_MARKERS = frozenset({"", "nan", "none", "null", "nat", "n/a"})
BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no"})

MAX_DIGITS = 28
"""Digits a number may have before the decimal point, significant digits, and decimal places:
what ``decimal``'s default context holds exactly (bigger numbers would be rounded)."""

# ASCII only: str.isdigit() and Decimal() also take '²', '١٢' or '１２'.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?))?"
)

Normalized = str | Decimal | date | None


def clean_text(value: object) -> str | None:
    """Text with surrounding whitespace removed; empty markers become ``None``."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else str(value)
    text = text.strip()
    return None if text.lower() in EMPTY_MARKERS else text


def normalize_number(value: object, column: str) -> Decimal | None:
    """A finite decimal, or ``None`` for an empty cell.

    Raises:
        RowRejected: booleans, words, or anything else that is not a plain number.
    """
    if isinstance(value, bool):
        raise RowRejected(
            "INVALID_NUMBER", f"{column}: boolean {value} is not a number", column=column
        )
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = clean_text(value)
        if text is None:
            return None
        number = _parse_number(text, column)
    if not number.is_finite():
        raise RowRejected(
            "INVALID_NUMBER", f"{column}: {value!r} is not a finite number", column=column
        )
    return _exact(number, column)


def _parse_number(text: str, column: str) -> Decimal:
    """A number written in text, read by the rules in the module docstring."""
    if text.lower() in BOOLEAN_WORDS:
        raise RowRejected(
            "INVALID_NUMBER", f"{column}: {text!r} is a yes/no word, not a number", column=column
        )
    if _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    if _THOUSANDS.fullmatch(text):
        return Decimal(text.replace(",", ""))
    hint = " (a comma only separates thousands: 1,234.50)" if "," in text else ""
    raise RowRejected(
        "INVALID_NUMBER", f"{column}: {_shorten(text)!r} is not a number{hint}", column=column
    )


def _exact(number: Decimal, column: str) -> Decimal:
    """The number in its one spelling, or a rejection when it cannot be held without rounding."""
    if number.is_zero():
        return Decimal(0)  # also '-0' and '0E+5'
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number
    significant = len("".join(map(str, digits)).rstrip("0"))
    lowest = exponent + len(digits) - significant  # the place of the last significant digit
    if significant > MAX_DIGITS or number.adjusted() >= MAX_DIGITS or lowest < -MAX_DIGITS:
        raise RowRejected(
            "INVALID_NUMBER",
            f"{column}: {_shorten(str(number))} cannot be kept exactly (at most {MAX_DIGITS} "
            f"digits before and after the decimal point, {MAX_DIGITS} significant)",
            column=column,
        )
    return _tidy(number)


def _shorten(text: str, limit: int = 60) -> str:
    """A value for a message: long ones cut, so an ERR row stays readable."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _tidy(number: Decimal) -> Decimal:
    """``18.50`` → ``18.5``, ``1E+2`` → ``100``: one spelling per value, never an exponent."""
    number = number.normalize()
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def normalize_date(value: object, column: str) -> date | None:
    """A calendar date from a date, a datetime or ISO text; ``None`` for an empty cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(value)
    if text is None:
        return None
    match = _ISO_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        day = date.fromisoformat(match.group(1))
        if match.group(2):
            time.fromisoformat(match.group(2))  # a real time of day, or the value is not a date
        return day
    except ValueError:
        raise RowRejected(
            "INVALID_DATE",
            f"{column}: {_shorten(text)!r} is not a date (YYYY-MM-DD)",
            column=column,
        ) from None


def normalize_quantity(value: object, size: str, maximum: int | None = None) -> int:
    """A size cell as a whole quantity (empty → 0).

    Args:
        value: the cell.
        size: the size column, for messages.
        maximum: the largest quantity that can be kept (the mirror's column), if any.

    Raises:
        RowRejected: negative (``NEGATIVE_QUANTITY``); fractional, non-numeric or too large
            (``INVALID_QUANTITY``) quantities.
    """
    if type(value) is int and value >= 0 and (maximum is None or value <= maximum):
        return value  # the common case, kept fast: INT size columns
    try:
        number = normalize_number(value, size)
    except RowRejected as rejected:
        raise RowRejected("INVALID_QUANTITY", f"size {rejected.message}", column=size) from None
    if number is None:
        return 0
    if number < 0:
        raise RowRejected(
            "NEGATIVE_QUANTITY", f"size {size}: quantity {number} is negative", column=size
        )
    if number != number.to_integral_value():
        raise RowRejected(
            "INVALID_QUANTITY", f"size {size}: quantity {number} is not whole", column=size
        )
    if maximum is not None and number > maximum:
        raise RowRejected(
            "INVALID_QUANTITY",
            f"size {size}: quantity {number} is more than {maximum}, the most ordersync keeps",
            column=size,
        )
    return int(number)


def order_key(parts: tuple[str, ...]) -> str:
    """The stored form of a natural key: the value itself, or a JSON list for several columns."""
    return parts[0] if len(parts) == 1 else json.dumps(list(parts), ensure_ascii=False)
