"""Column value formats: Python values to the JSON monday expects, and monday's values back.

monday takes a different JSON shape per column type (text ``"x"``, long_text
``{"text": "x"}``, numbers ``"42"``, status ``{"label": "Done"}``, dropdown
``{"labels": ["A"]}``, date ``{"date": "YYYY-MM-DD"}``; ``None`` clears a column) and reads
back a raw ``value`` plus a ``text`` rendering. ``to_monday`` and ``from_monday`` are the
one place that knows these shapes; both are pure functions. ``to_import_text`` turns a value
in monday's JSON shape into the text an import file (bulk ``ingest_items``) carries: the exact
status label, dropdown labels comma-separated, ``YYYY-MM-DD``, numbers as decimal text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["SUPPORTED_TYPES", "decode_value", "from_monday", "to_import_text", "to_monday"]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _format_decimal(number: Decimal) -> str:
    # Fixed-point, no exponent, no trailing zeros: Decimal("1E+2") -> "100", "42.50" -> "42.5".
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            raise ValueError(f"not an ISO date: {value!r}") from None
    raise ValueError(f"not a date: {value!r}")


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        labels = [str(label).strip() for label in value if not _blank(label)]
        if labels:
            return labels
    raise ValueError(f"not a label or list of labels: {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple, set, bytes)):
        raise ValueError(f"not text: {value!r}")
    return value if isinstance(value, str) else str(value)


_WRITERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "long_text": lambda value: {"text": _text(value)},
    "numbers": lambda value: _format_decimal(_to_decimal(value)),
    "status": lambda value: {"label": _text(value).strip()},
    "dropdown": lambda value: {"labels": _labels(value)},
    "date": lambda value: {"date": _to_date(value).isoformat()},
}

SUPPORTED_TYPES = frozenset(_WRITERS)


def to_monday(column_type: str, value: Any) -> Any:
    """Convert a Python value to the JSON monday expects for a column type.

    Args:
        column_type: monday's column type: ``text``, ``long_text``, ``numbers``, ``status``,
            ``dropdown`` or ``date``.
        value: the value; ``None`` (or a blank string for any type but text) clears the
            column.

    Returns:
        The JSON-ready value for ``column_values``, or ``None`` to clear.

    Raises:
        ValueError: the value does not fit the column type, or the type is not supported.

    Example:
        >>> to_monday("numbers", Decimal("42.50"))
        '42.5'
    """
    writer = _WRITERS.get(column_type)
    if writer is None:
        raise ValueError(f"unsupported column type: {column_type!r}")
    if value is None or (column_type != "text" and _blank(value)):
        return None
    return writer(value)


def decode_value(value: Any) -> Any:
    """Decode a raw column ``value`` (a JSON string) and leave anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value, parse_float=Decimal)
        except ValueError:
            return value
    return value


def _from_numbers(value: Any, text: str | None) -> Decimal | None:
    raw = value if isinstance(value, (str, int, float, Decimal)) and not _blank(value) else text
    return None if _blank(raw) else _to_decimal(raw)


def _from_date(value: Any, text: str | None) -> date | None:
    raw = value.get("date") if isinstance(value, dict) else value
    if _blank(raw) or not isinstance(raw, str):
        raw = text
    return None if _blank(raw) else _to_date(str(raw).strip()[:10])


def _from_labelled(key: str) -> Callable[[Any, str | None], str | None]:
    def read(value: Any, text: str | None) -> str | None:
        if isinstance(value, dict) and value.get(key):
            found = value[key]
            return ", ".join(found) if isinstance(found, list) else str(found)
        return None if _blank(text) else text

    return read


def _from_text(value: Any, text: str | None) -> str | None:
    raw = value if isinstance(value, str) else text
    return None if _blank(raw) else raw


def _from_long_text(value: Any, text: str | None) -> str | None:
    raw = value.get("text") if isinstance(value, dict) else value
    return _from_text(raw, text)


_READERS: dict[str, Callable[[Any, str | None], Any]] = {
    "text": _from_text,
    "long_text": _from_long_text,
    "numbers": _from_numbers,
    "status": _from_labelled("label"),
    "dropdown": _from_labelled("labels"),
    "date": _from_date,
}


def from_monday(column_type: str, value: Any, text: str | None) -> Any:
    """Convert a column value read from monday to a Python value.

    Args:
        column_type: monday's column type.
        value: the raw ``value`` as monday sent it (a JSON string) or already decoded.
        text: monday's ``text`` rendering of the value.

    Returns:
        ``Decimal`` for numbers, ``date`` for dates, the label for status, the labels joined
        with ``", "`` for dropdown, ``str`` for text and long_text, ``text`` for any other
        type; ``None`` for an empty value.

    Raises:
        ValueError: the value is not of the column's type (e.g. a non-numeric number).
    """
    reader = _READERS.get(column_type)
    if reader is None:
        return None if _blank(text) else text
    return reader(decode_value(value), text)


def _import_number(value: Any, text: str | None) -> str | None:
    number = _from_numbers(value, text)
    return None if number is None else _format_decimal(number)


def _import_date(value: Any, text: str | None) -> str | None:
    day = _from_date(value, text)
    return None if day is None else day.isoformat()


def _import_dropdown(value: Any, text: str | None) -> str | None:
    labels = value.get("labels") if isinstance(value, dict) else None
    if isinstance(labels, list):
        return ",".join(str(label) for label in labels) or None
    return _from_labelled("labels")(value, text)


_IMPORT_WRITERS: dict[str, Callable[[Any, str | None], str | None]] = {
    **_READERS,
    "numbers": _import_number,
    "date": _import_date,
    "dropdown": _import_dropdown,
}


def to_import_text(column_type: str, monday_value: Any) -> str:
    """The cell an import file carries for a value in monday's JSON shape (``to_monday``'s).

    Args:
        column_type: monday's column type.
        monday_value: the value as ``to_monday`` made it (``{"label": "Done"}``,
            ``{"labels": ["A", "B"]}``, ``{"date": "2026-01-31"}``, ``"42.5"``, text).

    Returns:
        The exact status label, dropdown labels joined by ``,`` (no space), ``YYYY-MM-DD``,
        a decimal number without exponent, text as it is; ``""`` for no value.

    Raises:
        ValueError: the type is not supported or the value does not fit it.

    Example:
        >>> to_import_text("dropdown", {"labels": ["XS", "S"]})
        'XS,S'
    """
    writer = _IMPORT_WRITERS.get(column_type)
    if writer is None:
        raise ValueError(f"unsupported column type: {column_type!r}")
    text = writer(decode_value(monday_value) if column_type != "text" else monday_value, None)
    return "" if text is None else str(text)
