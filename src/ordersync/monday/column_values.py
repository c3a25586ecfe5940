"""Column values by type name: Python values to the JSON monday expects, and monday's values back.

The formats themselves live in ``ordersync.column_types`` (one entry per type, with the
source normalisation and the label rules); these functions take the type as monday names it
(``text``, ``long_text``, ``numbers``, ``status``, ``dropdown``, ``date``), for callers that
hold a name: a board column read from monday, a staged row's columns. All are pure.
"""

from __future__ import annotations

from typing import Any

from ordersync.column_types import COLUMN_TYPES, column_type_named

__all__ = ["from_monday", "to_import_text", "to_monday"]


def to_monday(column_type: str, value: Any) -> Any:
    """Convert a Python value to the JSON monday expects for a column type.

    Args:
        column_type: monday's column type: ``text``, ``long_text``, ``numbers``,
            ``status``, ``dropdown`` or ``date``.
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
    return column_type_named(column_type).to_monday(value)


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
    kind = COLUMN_TYPES.get(column_type)
    if kind is None:
        return None if text is None or not text.strip() else text
    return kind.from_monday(value, text)


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
    return column_type_named(column_type).to_import_text(monday_value)
