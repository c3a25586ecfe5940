"""Column types: one entry per board column type, holding everything that differs per type.

A pushed value goes from the source through ``normalize`` (the rules of ``push/normalize.py``)
and ``to_monday`` (the JSON a mutation carries) to the board, or through ``to_import_text``
into a bulk import file; a value read from the board comes back through ``from_monday``.
``labels_in`` reads the labels a status or dropdown value names (a label must exist on the
board unless the mapping lets monday create it: ``push/board.py`` judges that), and ``shown``
is how a planner reads a value. ``COLUMN_TYPES`` is the one list of types: the configuration
accepts exactly its keys, and everything else looks a type up here instead of testing names.

monday's JSON per type: text ``"x"``, long_text ``{"text": "x"}``, numbers ``"42"``, status
``{"label": "Done"}``, dropdown ``{"labels": ["A"]}``, date ``{"date": "YYYY-MM-DD"}``;
``None`` clears a column. Reading, monday gives a raw ``value`` (a JSON string) and a ``text``
rendering. Every function here is pure, and the module loads no HTTP client (the
configuration imports it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersync.push.normalize import Normalized, clean_text, normalize_date, normalize_number

LABEL_SEPARATOR = ", "
"""Between the labels of a dropdown value read back (``from_monday``) or shown."""


@dataclass(frozen=True, slots=True)
class ColumnType:
    """What one board column type does to a value, both ways.

    Attributes:
        name: the type as monday and the configuration name it.
        write: a non-empty value → monday's JSON (raises ``ValueError`` when it does not fit).
        read: monday's decoded ``value`` and its ``text`` → a Python value, ``None`` if empty.
        import_cell: a value in monday's JSON → an import file's cell, ``None`` if empty.
        parse: a source value → its normalised value; ``None``: text, only cleaned.
        key: the key of monday's JSON object (``None``: a bare string).
        has_labels: the value names labels of the column (status, dropdown): value maps
            apply, and the labels must exist on the board or be allowed to be created.
        many_labels: a value holds several labels, read back joined by ``LABEL_SEPARATOR``.
        blank_clears: a blank string clears the column (all but text, which keeps it).
    """

    name: str
    write: Callable[[Any], Any]
    read: Callable[[Any, str | None], Any]
    import_cell: Callable[[Any], str | None]
    parse: Callable[[object, str], Normalized] | None = None
    key: str | None = None
    has_labels: bool = False
    many_labels: bool = False
    blank_clears: bool = True

    def normalize(
        self, value: object, column: str, value_map: Mapping[str, str] | None = None
    ) -> Normalized:
        """A source value normalised for this type (``column`` names it in a rejection).

        Raises:
            RowRejected: the value does not read as this type (``INVALID_NUMBER``, …).
        """
        if self.parse is not None:
            return self.parse(value, column)
        text = clean_text(value)
        if text is not None and value_map and self.has_labels:
            text = value_map.get(text, value_map.get(text.upper(), text))
        return text

    def reads_plain_text(self, value_map: Mapping[str, str] | None) -> bool:
        """Whether ``normalize`` is only ``clean_text`` (nothing parsed, no value map)."""
        return self.parse is None and not (value_map and self.has_labels)

    def to_monday(self, value: Any) -> Any:
        """The JSON monday expects for ``value``; ``None`` (or blank, but for text) clears.

        Raises:
            ValueError: the value does not fit the type.

        Example:
            >>> COLUMN_TYPES["numbers"].to_monday(Decimal("42.50"))
            '42.5'
        """
        if value is None or (self.blank_clears and _blank(value)):
            return None
        return self.write(value)

    def from_monday(self, value: Any, text: str | None) -> Any:
        """A value read from monday (raw ``value``, JSON or decoded, and ``text``) in Python:
        ``Decimal`` for numbers, ``date`` for dates, the label for status, the labels joined
        by ``LABEL_SEPARATOR`` for dropdown, ``str`` for text; ``None`` when empty.

        Raises:
            ValueError: the value is not of the type (e.g. a non-numeric number).
        """
        return self.read(decode_value(value), text)

    def to_monday_from_read(self, read: Any) -> Any:
        """monday's JSON for a value as ``from_monday`` gave it (a dropdown's joined labels
        split again), so a value read back writes the same JSON it was written with."""
        if self.many_labels and isinstance(read, str) and read:
            read = read.split(LABEL_SEPARATOR)
        return self.to_monday(read)

    def to_import_text(self, monday_value: Any) -> str:
        """The cell an import file carries for a value in monday's JSON (``to_monday``'s):
        the exact status label, dropdown labels joined by ``,`` (no space), ``YYYY-MM-DD``, a
        decimal number without exponent, text as it is; ``""`` for no value.

        Raises:
            ValueError: the value does not fit the type.
        """
        text = self.import_cell(monday_value)
        return "" if text is None else str(text)

    def labels_in(self, monday_value: object) -> list[str]:
        """The labels a value in monday's JSON names (none for a type without labels)."""
        if not self.has_labels or not isinstance(monday_value, dict):
            return []
        found = monday_value.get(self.key) if self.key else None
        if isinstance(found, list):
            return [str(label) for label in found]
        return [] if found is None else [str(found)]

    def shown(self, monday_value: object) -> str:
        """A value in monday's JSON as a planner reads it."""
        if self.key is not None and isinstance(monday_value, dict) and self.key in monday_value:
            found = monday_value[self.key]
            return LABEL_SEPARATOR.join(found) if isinstance(found, list) else str(found)
        return str(monday_value)


# --- monday's JSON, the pieces the types share ---------------------------------------------


def decode_value(value: Any) -> Any:
    """Decode a raw column ``value`` (a JSON string) and leave anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value, parse_float=Decimal)
        except ValueError:
            return value
    return value


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


# --- reading back -----------------------------------------------------------------------------


def _read_text(value: Any, text: str | None) -> str | None:
    raw = value if isinstance(value, str) else text
    return None if _blank(raw) else raw


def _read_long_text(value: Any, text: str | None) -> str | None:
    raw = value.get("text") if isinstance(value, dict) else value
    return _read_text(raw, text)


def _read_number(value: Any, text: str | None) -> Decimal | None:
    raw = value if isinstance(value, (str, int, float, Decimal)) and not _blank(value) else text
    return None if _blank(raw) else _to_decimal(raw)


def _read_date(value: Any, text: str | None) -> date | None:
    raw = value.get("date") if isinstance(value, dict) else value
    if _blank(raw) or not isinstance(raw, str):
        raw = text
    return None if _blank(raw) else _to_date(str(raw).strip()[:10])


def _read_labels(key: str) -> Callable[[Any, str | None], str | None]:
    def read(value: Any, text: str | None) -> str | None:
        if isinstance(value, dict) and value.get(key):
            found = value[key]
            return LABEL_SEPARATOR.join(found) if isinstance(found, list) else str(found)
        return None if _blank(text) else text

    return read


_read_status = _read_labels("label")
_read_dropdown = _read_labels("labels")


# --- import file cells ------------------------------------------------------------------------


def _import_number(monday_value: Any) -> str | None:
    number = _read_number(decode_value(monday_value), None)
    return None if number is None else _format_decimal(number)


def _import_date(monday_value: Any) -> str | None:
    day = _read_date(decode_value(monday_value), None)
    return None if day is None else day.isoformat()


def _import_dropdown(monday_value: Any) -> str | None:
    value = decode_value(monday_value)
    labels = value.get("labels") if isinstance(value, dict) else None
    if isinstance(labels, list):
        return ",".join(str(label) for label in labels) or None
    return _read_dropdown(value, None)


# --- the registry -----------------------------------------------------------------------------

TEXT = ColumnType(
    "text",
    write=_text,
    read=_read_text,
    import_cell=lambda value: _read_text(value, None),  # as it is: "42" stays text
    blank_clears=False,
)
LONG_TEXT = ColumnType(
    "long_text",
    write=lambda value: {"text": _text(value)},
    read=_read_long_text,
    import_cell=lambda value: _read_long_text(decode_value(value), None),
    key="text",
)
NUMBERS = ColumnType(
    "numbers",
    write=lambda value: _format_decimal(_to_decimal(value)),
    read=_read_number,
    import_cell=_import_number,
    parse=normalize_number,
)
STATUS = ColumnType(
    "status",
    write=lambda value: {"label": _text(value).strip()},
    read=_read_status,
    import_cell=lambda value: _read_status(decode_value(value), None),
    key="label",
    has_labels=True,
)
DROPDOWN = ColumnType(
    "dropdown",
    write=lambda value: {"labels": _labels(value)},
    read=_read_dropdown,
    import_cell=_import_dropdown,
    key="labels",
    has_labels=True,
    many_labels=True,
)
DATE = ColumnType(
    "date",
    write=lambda value: {"date": _to_date(value).isoformat()},
    read=_read_date,
    import_cell=_import_date,
    parse=normalize_date,
    key="date",
)

COLUMN_TYPES: Mapping[str, ColumnType] = {
    kind.name: kind for kind in (TEXT, LONG_TEXT, NUMBERS, STATUS, DROPDOWN, DATE)
}
"""Every column type ordersync pushes or pulls, by name: the one list."""

LABEL_TYPES = frozenset(name for name, kind in COLUMN_TYPES.items() if kind.has_labels)

SIZE_COLUMN_TYPE = DROPDOWN
"""The subitems' size column: one label per size."""
QUANTITY_COLUMN_TYPE = NUMBERS
"""The subitems' quantity column."""


def column_type_named(name: str) -> ColumnType:
    """The entry for a type name.

    Raises:
        ValueError: naming the types there are (the configuration reports it as its error).
    """
    try:
        return COLUMN_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unsupported column type {name!r}; the types are: {', '.join(COLUMN_TYPES)}"
        ) from None


def shown(monday_value: object) -> str:
    """A value in monday's JSON as a planner reads it, its type told by its shape (the key of
    its JSON object): the dry-run diff carries values without their types."""
    if isinstance(monday_value, dict):
        for kind in COLUMN_TYPES.values():
            if kind.key is not None and kind.key in monday_value:
                return kind.shown(monday_value)
    return str(monday_value)
