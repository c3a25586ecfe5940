"""The one normalisation of source values, and the row hash built on it.

Source tables hold business values as text (``'18.50'``, ``'nan'``, ``'TRUE'``, ``''``), so
every value is normalised once, here, by the board column type it is bound for. The row hash
is a sha256 over a canonical encoding of those normalised values, so it is the same whichever
database held the data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersync.errors import RowRejected

# Written by spreadsheets and pandas exports for "no value"; they mean an empty cell.
EMPTY_MARKERS = frozenset({"", "nan", "none", "null", "nat", "n/a"})
BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no"})

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
        if text.lower() in BOOLEAN_WORDS:
            raise RowRejected(
                "INVALID_NUMBER",
                f"{column}: {text!r} is a yes/no word, not a number",
                column=column,
            )
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise RowRejected(
                "INVALID_NUMBER", f"{column}: {text!r} is not a number", column=column
            ) from None
    if not number.is_finite():
        raise RowRejected(
            "INVALID_NUMBER", f"{column}: {value!r} is not a finite number", column=column
        )
    return _tidy(number)


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
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise RowRejected(
            "INVALID_DATE", f"{column}: {text!r} is not a date (YYYY-MM-DD)", column=column
        ) from None


def normalize_value(
    column_type: str, value: object, column: str, value_map: Mapping[str, str] | None = None
) -> Normalized:
    """Normalise one source value for a board column of ``column_type``."""
    if column_type == "numbers":
        return normalize_number(value, column)
    if column_type == "date":
        return normalize_date(value, column)
    text = clean_text(value)
    if text is not None and value_map:
        text = value_map.get(text, value_map.get(text.upper(), text))
    return text


def normalize_quantity(value: object, size: str) -> int:
    """A size cell as a whole quantity (empty → 0).

    Raises:
        RowRejected: negative, fractional or non-numeric quantities.
    """
    if type(value) is int and value >= 0:  # the common case, kept fast: INT size columns
        return value
    number = normalize_number(value, size)
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
    return int(number)


def _canonical(value: object) -> Any:
    if isinstance(value, Decimal):
        return format(_tidy(value), "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_json(values: Mapping[str, object]) -> str:
    """Sorted keys, fixed separators, Decimal and date written as text."""
    return json.dumps(
        {key: _canonical(v) for key, v in values.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def row_hash(values: Mapping[str, object]) -> str:
    """sha256 (hex) of the canonical encoding of normalised values."""
    return hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()


def order_key(parts: tuple[str, ...]) -> str:
    """The stored form of a natural key: the value itself, or a JSON list for several columns."""
    return parts[0] if len(parts) == 1 else json.dumps(list(parts), ensure_ascii=False)
