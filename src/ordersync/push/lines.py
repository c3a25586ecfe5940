"""One source row → one order line as it should look on the board (pure, no I/O).

This is where a row is validated and normalised, where its item name, group and column values
are derived, where its sizes are melted into subitems, and where its row hash is computed.
``LineBuilder`` compiles the mapping once (a plan may read a hundred thousand rows) and
``build`` turns each row into an ``OrderLine`` or a ``LineProblems`` with every reason found.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ordersync.column_types import COLUMN_TYPES, ColumnType
from ordersync.config import SyncConfig
from ordersync.db.tables import Tables, build_tables
from ordersync.db.types import integer_maximum, stored_length, text_capacity
from ordersync.errors import RowRejected
from ordersync.push.normalize import (
    EMPTY_MARKERS,
    Normalized,
    clean_text,
    normalize_quantity,
    order_key,
)

MAX_ITEM_NAME = 255
_LONGEST_MARKER = max(len(marker) for marker in EMPTY_MARKERS)
_MEMO_SIZE = 4096  # distinct raw values remembered per column
_MISSING = object()


@dataclass(frozen=True)
class Limits:
    """What the mirror's columns hold, read from the table definitions (never restated)."""

    key: int | None
    scope: dict[str, int | None]  # customer, po_number, season
    quantity: int

    @classmethod
    def of(cls, tables: Tables) -> Limits:
        items, subitems = tables.items.c, tables.subitems.c
        return cls(
            key=text_capacity(items.order_key),
            scope={
                name: text_capacity(items[name]) for name in ("customer", "po_number", "season")
            },
            quantity=integer_maximum(subitems.qty),
        )


LIMITS = Limits.of(build_tables())


@dataclass(frozen=True)
class OrderLine:
    """An order line ready to stage: what its item and subitems on monday must hold."""

    key: tuple[str, ...]
    order_key: str
    item_name: str
    group_title: str
    values: dict[str, Normalized]  # board column id → normalised value (empty ones too)
    monday_values: dict[str, Any]  # board column id → monday JSON, empty values left out
    sizes: dict[str, int]  # size label → quantity > 0, in source column order
    customer: str
    po_number: str | None
    season: str | None
    row_hash: str
    warnings: tuple[RowRejected, ...] = ()  # values left off under on_invalid = "skip_value"
    cancelled: bool = False  # the cancelled rule's column holds one of its values

    def to_json(self) -> str:
        """What the scan table keeps of a line (everything staging needs)."""
        return json.dumps(
            {
                "key": list(self.key),
                "item_name": self.item_name,
                "group_title": self.group_title,
                "monday_values": self.monday_values,
                "sizes": self.sizes,
                "customer": self.customer,
                "po_number": self.po_number,
                "season": self.season,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


@dataclass
class LineProblems:
    """A row that cannot be staged, with every reason found (not just the first)."""

    key: tuple[str, ...] | None
    problems: list[RowRejected] = field(default_factory=list)
    payload: dict[str, object] = field(default_factory=dict)


def line_hash(
    name: str, group: str, monday_values: Mapping[str, Any], sizes: Mapping[str, int]
) -> str:
    """sha256 of the canonical encoding of everything the board shows of a line."""
    canonical = json.dumps(
        {"name": name, "group": group, "values": monday_values, "sizes": sizes},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def subitem_hash(size: str, qty: int) -> str:
    return hashlib.sha256(f"{size}\x1f{qty}".encode()).hexdigest()


def _fast_text(value: object) -> str | None:
    """``clean_text`` with a shortcut for the common case of a plain string."""
    if type(value) is str:
        text = value.strip()
        if len(text) <= _LONGEST_MARKER and text.lower() in EMPTY_MARKERS:
            return None
        return text
    return clean_text(value)


@dataclass(frozen=True)
class _Rule:
    """One pushed column, compiled: how to read it from a row and write it for monday."""

    column_id: str
    source: str
    column_type: ColumnType
    reject: bool
    read: Callable[[Mapping[str, object]], Normalized]


class LineBuilder:
    """Turns source rows into order lines under one mapping (compiled once)."""

    def __init__(self, config: SyncConfig, size_columns: tuple[str, ...]) -> None:
        self.config = config
        self.size_columns = size_columns
        self.key_columns = tuple(config.source.key_columns)
        self.name_columns = tuple(config.items.name_columns)
        self.group_columns = tuple(config.items.group_columns)
        self.rules = tuple(self._rule(column) for column in config.items.columns)
        getter = operator.itemgetter(*size_columns) if size_columns else lambda row: ()
        self._size_cells: Callable[[Mapping[str, object]], tuple[object, ...]] = (
            (lambda row: (getter(row),)) if len(size_columns) == 1 else getter
        )
        self._numbers: dict[Normalized, str] = {}  # normalised Decimal → monday's text
        rule = config.items.cancelled
        self.cancelled_column = rule.column
        self.cancelled_values = frozenset(value.strip().upper() for value in rule.values)
        self.payload_columns = tuple(
            dict.fromkeys(
                [*self.key_columns, *self.name_columns, *(c.source for c in config.items.columns)]
            )
        )

    def _rule(self, column: Any) -> _Rule:
        source, column_type, value_map = column.source, COLUMN_TYPES[column.type], column.value_map
        if column.transform == "canonical_customer":
            customer_column = self.config.source.customer_column

            def read(row: Mapping[str, object]) -> Normalized:
                return self.config.canonical_customer(str(row.get(customer_column) or ""))
        elif column_type.reads_plain_text(value_map):

            def read(row: Mapping[str, object]) -> Normalized:
                return _fast_text(row.get(source))
        else:
            # Numbers, dates and mapped labels repeat a lot (fees, rates, seasons): normalise each
            # distinct raw value once. Pure functions, immutable results; failures not kept.
            memo: dict[tuple[type, object], Normalized] = {}

            def read(row: Mapping[str, object]) -> Normalized:
                raw = row.get(source)
                key = (type(raw), raw)  # type too: True == 1, but True is not a number
                try:
                    value = memo.get(key, _MISSING)
                except TypeError:  # unhashable raw value: no shortcut
                    return column_type.normalize(raw, source, value_map)
                if value is _MISSING:
                    value = column_type.normalize(raw, source, value_map)
                    if len(memo) < _MEMO_SIZE:
                        memo[key] = value
                return value  # type: ignore[return-value]

        return _Rule(column.column_id, source, column_type, column.on_invalid == "reject_row", read)

    def build(self, row: Mapping[str, object]) -> OrderLine | LineProblems:
        """Validate and derive one order line; never drops or changes a value silently."""
        problems: list[RowRejected] = []
        warnings: list[RowRejected] = []
        key = self._key(row, problems)
        values, monday_values = self._values(row, problems, warnings)
        sizes = self._sizes(row, problems)
        name = self._item_name(row, problems)
        if key is not None:
            too_long = _too_long("KEY_TOO_LONG", "the key", order_key(key), LIMITS.key)
            if too_long:  # a key the mirror cannot hold is never staged, nor marked present
                problems.append(too_long)
                key = None
        customer, po_number, season = self._scope(row, problems)
        if problems or key is None:
            return LineProblems(key=key, problems=problems, payload=self.payload(row))
        group = self.group_title(row, customer)
        return OrderLine(
            key=key,
            order_key=order_key(key),
            item_name=name,
            group_title=group,
            values=values,
            monday_values=monday_values,
            sizes=sizes,
            customer=customer,
            po_number=po_number,
            season=season,
            row_hash=line_hash(name, group, monday_values, sizes),
            warnings=tuple(warnings),
            cancelled=(_fast_text(row.get(self.cancelled_column)) or "").upper()
            in self.cancelled_values,
        )

    def _key(
        self, row: Mapping[str, object], problems: list[RowRejected]
    ) -> tuple[str, ...] | None:
        """The natural key's parts, or ``None`` (and a ``MISSING_KEY``) when one is empty."""
        parts = tuple(_fast_text(row.get(column)) for column in self.key_columns)
        if any(part is None for part in parts):
            problems.append(self._missing_key(row, parts))
            return None
        return tuple(str(part) for part in parts)

    def _values(
        self,
        row: Mapping[str, object],
        problems: list[RowRejected],
        warnings: list[RowRejected],
    ) -> tuple[dict[str, Normalized], dict[str, Any]]:
        """The pushed columns: normalised, and as monday's JSON (empty values left out)."""
        values: dict[str, Normalized] = {}
        monday_values: dict[str, Any] = {}
        for rule in self.rules:
            try:
                value = rule.read(row)
            except RowRejected as rejected:
                (problems if rule.reject else warnings).append(rejected)
                continue
            values[rule.column_id] = value
            if value is not None:
                if rule.column_type.memoize_writes:  # a str: safe to share between lines
                    monday = self._numbers.get(value)
                    if monday is None:
                        monday = rule.column_type.to_monday(value)
                        if len(self._numbers) < _MEMO_SIZE:
                            self._numbers[value] = monday
                    monday_values[rule.column_id] = monday
                else:
                    monday_values[rule.column_id] = rule.column_type.to_monday(value)
        return values, monday_values

    def _item_name(self, row: Mapping[str, object], problems: list[RowRejected]) -> str:
        """The name columns joined; empty or too long for monday is a problem."""
        name = "".join(_fast_text(row.get(column)) or "" for column in self.name_columns)
        if not name:
            problems.append(
                RowRejected("EMPTY_ITEM_NAME", "item name is empty (name columns are empty)")
            )
        elif len(name) > MAX_ITEM_NAME:
            problems.append(
                RowRejected(
                    "ITEM_NAME_TOO_LONG",
                    f"item name is {len(name)} characters; monday allows {MAX_ITEM_NAME}",
                )
            )
        return name

    def _scope(
        self, row: Mapping[str, object], problems: list[RowRejected]
    ) -> tuple[str, str | None, str | None]:
        """(canonical customer, PO number, season), each checked to fit the mirror."""
        src = self.config.source
        customer = self.config.canonical_customer(str(row.get(src.customer_column) or ""))
        scope = {
            "customer": customer,
            "po_number": _fast_text(row.get(src.po_column)),
            "season": _fast_text(row.get(src.season_column)),
        }
        for field_name, value in scope.items():
            too_long = _too_long("VALUE_TOO_LONG", field_name, value, LIMITS.scope[field_name])
            if too_long:
                problems.append(too_long)
        return customer, scope["po_number"], scope["season"]

    def _missing_key(self, row: Mapping[str, object], parts: tuple[str | None, ...]) -> RowRejected:
        missing = [c for c, part in zip(self.key_columns, parts, strict=True) if part is None]
        known = {c: text for c in self.name_columns if (text := _fast_text(row.get(c)))}
        hint = ", ".join(f"{column} {text}" for column, text in known.items()) or "no name"
        return RowRejected(
            "MISSING_KEY", f"key column(s) empty: {', '.join(missing)} (row: {hint})"
        )

    def group_title(self, row: Mapping[str, object], customer: str) -> str:
        """``<canonical customer> <first non-empty group column>``, e.g. ``GREYSON 2025 FALL``."""
        for column in self.group_columns:
            text = _fast_text(row.get(column))
            if text:
                return f"{customer} {text}"[:MAX_ITEM_NAME]
        return customer[:MAX_ITEM_NAME]

    def _sizes(self, row: Mapping[str, object], problems: list[RowRejected]) -> dict[str, int]:
        """Size label → quantity > 0, in source column order (bad cells are problems)."""
        try:  # all ~160 cells in one C call: most of them are empty
            cells = zip(self.size_columns, self._size_cells(row), strict=True)
        except KeyError:  # a row without some size columns (tests, partial rows)
            cells = zip(
                self.size_columns, [row.get(size) for size in self.size_columns], strict=True
            )
        sizes: dict[str, int] = {}
        for size, raw in cells:
            if raw is None or (type(raw) is int and raw == 0):
                continue
            try:
                qty = normalize_quantity(raw, size, LIMITS.quantity)
            except RowRejected as rejected:
                problems.append(rejected)
                continue
            if qty > 0:
                sizes[size] = qty
        return sizes

    def payload(self, row: Mapping[str, object]) -> dict[str, object]:
        """The mapped source values of a row, JSON-ready, for the ERR tables."""
        return {name: _jsonable(row.get(name)) for name in self.payload_columns}


def build_order_line(
    row: Mapping[str, object], config: SyncConfig, size_columns: tuple[str, ...]
) -> OrderLine | LineProblems:
    """One row, one line (compiles the mapping each call: use ``LineBuilder`` in loops)."""
    return LineBuilder(config, size_columns).build(row)


def _too_long(code: str, what: str, value: str | None, limit: int | None) -> RowRejected | None:
    """A rejection when ``value`` does not fit the mirror's column of ``limit`` characters."""
    if value is None or limit is None or stored_length(value) <= limit:
        return None
    start = value[:40].replace("\n", " ")
    return RowRejected(
        code,
        f"{what} is {stored_length(value)} characters long ({start!r}…); ordersync keeps at "
        f"most {limit}",
    )


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    return value
