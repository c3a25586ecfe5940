"""Column values: validate what a client writes, store it in monday's shape, render its text.

What a client may write (developer.monday.com, "Changing column values" and the per-column
pages), per column type; ``null`` (and an empty string, object or list) clears any of them:

* ``text``: a string (numbers are accepted and stringified);
* ``long_text``: ``{"text": "..."}`` or a string;
* ``numbers``: a number or a numeric string such as ``"42"`` or ``"-1.5"``;
* ``status``: ``{"label": "Done"}``, ``{"index": 1}`` or the label as a string;
* ``dropdown``: ``{"labels": ["A", "B"]}``, ``{"ids": [1, 2]}`` or ``"A, B"``;
* ``date``: ``{"date": "YYYY-MM-DD", "time": "HH:MM:SS"}`` (time optional) or the date string.

What is stored (and returned as ``value``) is monday's read shape: text and numbers as JSON
strings, status ``{"index", "post_id", "changed_at"}``, dropdown ``{"ids", "changed_at"}``,
date ``{"date", "time", "icon", "changed_at"}``, long text ``{"text", "changed_at"}``.

A status or dropdown label that the column lacks is a ``ColumnValueException`` unless
``create_labels_if_missing`` is set; then the label joins the column's settings, but only once
the whole mutation has succeeded (``ValueWriter.commit``). A deactivated label is refused
whatever the flag (``column_settings``).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from typing import Any

from ordersync.emulator import api_errors, column_settings
from ordersync.emulator.api_errors import MondayAPIError
from ordersync.emulator.model import Board, Column

CHANGE_VALUES_DOCS = "https://developer.monday.com/api-reference/docs/change-column-values"
MAX_NAME_LENGTH = 255
WRITABLE_TYPES = frozenset({"text", "long_text", "numbers", "status", "dropdown", "date", "name"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
DEFAULT_STATUS_INDEX = 5  # monday keeps index 5 for the grey "no label" style
_EMPTY: tuple[Any, ...] = (None, "", {}, [])


def parse_column_values(raw: Any) -> dict[str, Any]:
    """The ``column_values`` argument as a dict: monday takes a JSON string or an object."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = _loads(raw, "column_values") if raw.strip() else {}
    if not isinstance(raw, dict):
        raise MondayAPIError(
            api_errors.COLUMN_VALUE,
            "column_values must be a JSON object keyed by column id",
            error_data={"column_values": raw},
        )
    return raw


def parse_json_value(raw: Any) -> Any:
    """A ``JSON`` argument holding one value: JSON text (as clients send it) or the value."""
    return _loads(raw, "value") if isinstance(raw, str) else raw


def _loads(raw: str, argument: str) -> Any:
    """JSON text of an argument, or monday's JSON parse error naming it."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MondayAPIError(
            api_errors.JSON_PARSE,
            f"{argument} is not valid JSON: {exc.msg}",
            status_code=400,
            error_data={argument: raw},
        ) from exc


def validate_item_name(name: Any) -> str:
    """An item name of 1 to 255 characters, else ``ItemNameTooLongException`` as monday says."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_LENGTH:
        length = len(name) if isinstance(name, str) else None
        raise MondayAPIError(
            api_errors.ITEM_NAME_TOO_LONG,
            f"Item name must be between 1 and {MAX_NAME_LENGTH} characters long",
            error_data={"item_name_length": length},
        )
    return name


def column_value_error(column: Column, raw: Any, reason: str) -> MondayAPIError:
    return MondayAPIError(
        api_errors.COLUMN_VALUE,
        f"invalid value - {reason}. Please check our API documentation for the correct data "
        f"structure for this column. {CHANGE_VALUES_DOCS}",
        error_data={"column_id": column.id, "column_type": column.type, "column_value": raw},
    )


class ValueWriter:
    """Turns one mutation's raw column values into stored values for one board.

    Label additions are staged on copies of the column settings and applied by ``commit`` so a
    mutation that fails half-way leaves the board untouched.
    """

    def __init__(self, board: Board, *, create_labels: bool, changed_at: str) -> None:
        self._board = board
        self._create_labels = bool(create_labels)
        self._changed_at = changed_at
        self._staged: dict[str, dict[str, Any]] = {}

    def convert(self, column: Column, raw: Any) -> Any:
        """The stored value for ``raw`` (``None`` clears), or ``ColumnValueException``."""
        if column.type not in WRITABLE_TYPES:
            raise column_value_error(column, raw, f"a {column.type} column can't be changed")
        if column.type == "name":
            return validate_item_name(raw)
        if raw in _EMPTY:
            return None
        converter = getattr(self, f"_{column.type}")
        return converter(column, raw)

    def commit(self) -> None:
        """Apply the staged label additions to the board's columns."""
        for column_id, settings in self._staged.items():
            self._board.columns[column_id].settings = settings
        self._staged.clear()

    def _settings(self, column: Column) -> dict[str, Any]:
        if column.id not in self._staged:
            self._staged[column.id] = copy.deepcopy(column.settings)
        return self._staged[column.id]

    def _text(self, column: Column, raw: Any) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise column_value_error(column, raw, "a text column takes a string")
        return str(raw)

    def _long_text(self, column: Column, raw: Any) -> dict[str, Any]:
        text = raw.get("text") if isinstance(raw, dict) else raw
        if not isinstance(text, str):
            raise column_value_error(column, raw, 'a long text column takes {"text": "..."}')
        return {"text": text, "changed_at": self._changed_at}

    def _numbers(self, column: Column, raw: Any) -> str:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            text = repr(raw) if isinstance(raw, float) else str(raw)
        elif isinstance(raw, str):
            text = raw.strip()
        else:
            text = ""
        if not _NUMBER.match(text):
            raise column_value_error(column, raw, "a numbers column takes a number")
        return text

    def _status(self, column: Column, raw: Any) -> dict[str, Any]:
        settings = self._settings(column)
        if isinstance(raw, dict) and "index" in raw:
            index = raw["index"]
            entry = None
            if not isinstance(index, bool) and str(index).lstrip("-").isdigit():
                entry = column_settings.by_id(settings, int(index))
            if entry is None or entry.get("is_deactivated"):
                raise column_value_error(column, raw, "label index does not exist in column")
            return self._status_value(int(entry["index"]))
        label = raw.get("label") if isinstance(raw, dict) else raw
        if isinstance(label, int) and not isinstance(label, bool):
            label = str(label)
        if not isinstance(label, str):
            raise column_value_error(column, raw, 'a status column takes {"label": "..."}')
        entry = column_settings.by_name(settings, label)
        if entry is not None and not entry.get("is_deactivated"):
            return self._status_value(int(entry["index"]))
        if entry is not None:
            raise column_value_error(column, raw, "label is deactivated in column")
        if not self._create_labels:
            raise column_value_error(column, raw, "label does not exist in column")
        index = _free_status_index(column_settings.labels(settings))
        column_settings.add_status_label(settings, index, label)
        return self._status_value(index)

    def _status_value(self, index: int) -> dict[str, Any]:
        return {"index": index, "post_id": None, "changed_at": self._changed_at}

    def _dropdown(self, column: Column, raw: Any) -> dict[str, Any] | None:
        settings = self._settings(column)
        if isinstance(raw, dict) and "ids" in raw and "labels" in raw:
            raise column_value_error(column, raw, "send either labels or ids, not both")
        if isinstance(raw, dict) and "ids" in raw:
            ids = [
                self._dropdown_id(column, raw, settings, value) for value in _as_list(raw["ids"])
            ]
        else:
            names = raw.get("labels") if isinstance(raw, dict) else raw
            if isinstance(names, str):
                names = [part.strip() for part in names.split(",") if part.strip()]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise column_value_error(column, raw, 'a dropdown takes {"labels": [...]}')
            ids = [self._dropdown_label(column, raw, settings, name) for name in names]
        unique = list(dict.fromkeys(ids))
        return {"ids": unique, "changed_at": self._changed_at} if unique else None

    def _dropdown_id(self, column: Column, raw: Any, settings: dict[str, Any], value: Any) -> int:
        try:
            option_id = int(value)
        except (TypeError, ValueError):
            option_id = -1
        entry = column_settings.by_id(settings, option_id)
        if entry is None or entry.get("is_deactivated"):
            raise column_value_error(column, raw, "dropdown label id does not exist in column")
        return option_id

    def _dropdown_label(self, column: Column, raw: Any, settings: dict[str, Any], name: str) -> int:
        entry = column_settings.by_name(settings, name)
        if entry is not None and entry.get("is_deactivated"):
            raise column_value_error(column, raw, f"dropdown label {name!r} is deactivated")
        if entry is not None:
            return int(entry["id"])
        if not self._create_labels:
            raise column_value_error(column, raw, f"dropdown label {name!r} does not exist")
        return column_settings.add_dropdown_label(settings, name)

    def _date(self, column: Column, raw: Any) -> dict[str, Any]:
        day: Any = None
        time: Any = ""
        if isinstance(raw, str):
            day, _, time = raw.strip().partition(" ")
        elif isinstance(raw, dict):
            day, time = raw.get("date"), raw.get("time") or ""
        if not _is_date(day) or (time and not (isinstance(time, str) and _TIME.match(time))):
            raise column_value_error(column, raw, 'a date column takes {"date": "YYYY-MM-DD"}')
        return {"date": day, "time": time or None, "icon": None, "changed_at": self._changed_at}


def stored_text(column: Column, stored: Any) -> str:
    """The ``text`` monday shows for a stored value of a writable column ("" when empty)."""
    if stored is None:
        return ""
    if column.type == "long_text":
        return str(stored.get("text", ""))
    if column.type == "status":
        entry = column_settings.by_id(column.settings, int(stored["index"]))
        return "" if entry is None else str(entry["label"])
    if column.type == "dropdown":
        names = {entry["id"]: entry["label"] for entry in column_settings.labels(column.settings)}
        return ", ".join(names[i] for i in stored["ids"] if i in names)
    if column.type == "date":
        return f"{stored['date']} {stored['time']}" if stored.get("time") else stored["date"]
    return str(stored)


def stored_json(stored: Any) -> str | None:
    """The ``value`` monday returns: the stored value as a JSON string, ``None`` when empty."""
    return None if stored is None else json.dumps(stored, separators=(",", ":"))


def _free_status_index(labels: list[dict[str, Any]]) -> int:
    used = {int(entry["index"]) for entry in labels}
    index = 0
    while index in used or index == DEFAULT_STATUS_INDEX:
        index += 1
    return index


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
