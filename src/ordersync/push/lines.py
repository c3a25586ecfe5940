"""One source row → one order line as it should look on the board (pure, no I/O).

This is where a row is validated and normalised, where its item name, group and column values
are derived, where its sizes are melted into subitems, and where its row hash is computed.
``LineBuilder`` compiles the mapping once (a plan may read a hundred thousand rows), with a
reader per column that remembers what each distinct raw value gave, and ``build`` turns each
row into an ``OrderLine`` or a ``LineProblems`` with every reason found. A line's monday values
are encoded once, as ``encode_values`` writes them, spliced from each column's remembered
fragment: the row hash, the scan table's line and the staged item share that text.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import compress
from typing import Any, NamedTuple

from ordersync.column_types import COLUMN_TYPES, ColumnType
from ordersync.config import SyncConfig
from ordersync.db.tables import Tables, build_tables
from ordersync.db.types import integer_maximum, stored_length, text_capacity
from ordersync.errors import RowRejected
from ordersync.push.normalize import (
    EMPTY_MARKERS,
    Normalized,
    clean_text,
    normalize_number,
    normalize_quantity,
    order_key,
)

MAX_ITEM_NAME = 255
_LONGEST_MARKER = max(len(marker) for marker in EMPTY_MARKERS)
_MEMO_SIZE = 4096  # distinct raw values remembered per column
_PLAIN_CELLS = frozenset({type(None), int})  # size cells whose falsy values are all empty
# The one canonical encoding (sorted keys, fixed separators, no escaping of non-ASCII): the row
# hash is taken over it, so it never changes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DECODER = json.JSONDecoder()


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
    values_json: str  # the monday values as ``encode_values`` writes them (encoded once)
    sizes: dict[str, int]  # size label → quantity > 0, in source column order
    customer: str
    po_number: str | None
    season: str | None
    row_hash: str
    warnings: tuple[RowRejected, ...] = ()  # values left off under on_invalid = "skip_value"
    cancelled: bool = False  # the cancelled rule's column holds one of its values

    @property
    def monday_values(self) -> dict[str, Any]:
        """Board column id → monday JSON, empty values left out: ``values_json`` decoded (the
        line keeps only the text, which is what the row hash and staging read)."""
        return json.loads(self.values_json)

    def to_json(self) -> str:
        """What the scan table keeps of a line (everything staging needs): the JSON array
        ``[fields, monday values]``, the values as ``values_json`` holds them, so that staging
        an item takes their text as it is (``split_line_json``)."""
        fields = {
            "key": list(self.key),
            "item_name": self.item_name,
            "group_title": self.group_title,
            "sizes": self.sizes,
            "customer": self.customer,
            "po_number": self.po_number,
            "season": self.season,
        }
        return f"[{_COMPACT(fields)},{self.values_json}]"


def split_line_json(text: str) -> tuple[dict[str, Any], str]:
    """``OrderLine.to_json``'s text → (its fields, its monday values still encoded): only the
    fields are decoded."""
    fields, end = _DECODER.raw_decode(text, 1)
    return fields, text[end + 1 : -1]


def read_line_json(text: str) -> dict[str, Any]:
    """``OrderLine.to_json``'s text → its fields with ``monday_values`` decoded (any other
    JSON, such as the ``{}`` of a line never built, as it is)."""
    line = json.loads(text)
    if isinstance(line, list):
        fields, monday_values = line
        return {**fields, "monday_values": monday_values}
    return dict(line)


@dataclass
class LineProblems:
    """A row that cannot be staged, with every reason found (not just the first)."""

    key: tuple[str, ...] | None
    problems: list[RowRejected] = field(default_factory=list)
    payload: dict[str, object] = field(default_factory=dict)


def encode_values(monday_values: Mapping[str, Any]) -> str:
    """A line's monday values in the canonical encoding (sorted keys, no spaces)."""
    return _CANONICAL(monday_values)


def line_hash(
    name: str, group: str, monday_values: Mapping[str, Any], sizes: Mapping[str, int]
) -> str:
    """sha256 of the canonical encoding of everything the board shows of a line: of
    ``{"name": name, "group": group, "values": monday_values, "sizes": sizes}``."""
    return hash_encoded(name, group, encode_values(monday_values), sizes)


def hash_encoded(name: str, group: str, values_json: str, sizes: Mapping[str, int]) -> str:
    """``line_hash`` of monday values already encoded (``encode_values``): the same text,
    spliced with the keys in sorted order, so the values are not encoded a second time."""
    canonical = (
        f'{{"group":{_CANONICAL(group)},"name":{_CANONICAL(name)},'
        f'"sizes":{_CANONICAL(sizes)},"values":{values_json}}}'
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


_Cell = tuple[Normalized, str | None]  # a column's normalised value, its ``values_json`` fragment


class _Rule(NamedTuple):
    """One pushed column, compiled: how to turn its raw cell into what a line holds of it.

    ``cell`` gives the normalised value and the column's fragment of ``values_json``
    (``"<column id>":<monday JSON>``, ``None`` for an empty value, which monday values leave
    out); ``slot`` is the column's place among the pushed columns in sorted column id order,
    the order ``encode_values`` writes them in.
    """

    column_id: str
    source: str  # the row's column read
    column_type: ColumnType
    reject: bool
    slot: int
    cell: Callable[[object], _Cell]
    memo: dict[object, _Cell]  # raw value (or its type and value) → ``cell``'s answer
    same_when_equal: frozenset[type]  # raw values of these types ``memo`` may keep

    def read(self, row: Mapping[str, object]) -> Normalized:
        """The column's normalised value in ``row`` (``RowRejected`` when it does not read)."""
        return self.cell(row.get(self.source))[0]


class LineBuilder:
    """Turns source rows into order lines under one mapping (compiled once)."""

    def __init__(self, config: SyncConfig, size_columns: tuple[str, ...]) -> None:
        self.config = config
        self.size_columns = size_columns
        self.key_columns = tuple(config.source.key_columns)
        self.name_columns = tuple(config.items.name_columns)
        self.group_columns = tuple(config.items.group_columns)
        columns = config.items.columns
        slots = {
            column_id: slot for slot, column_id in enumerate(sorted(c.column_id for c in columns))
        }
        self.rules = tuple(self._rule(column, slots[column.column_id]) for column in columns)
        self._sources = tuple(rule.source for rule in self.rules)
        self._source_cells = _items_getter(self._sources)
        self._size_cells = _items_getter(size_columns)
        rule = config.items.cancelled
        self.cancelled_column = rule.column
        self.cancelled_values = frozenset(value.strip().upper() for value in rule.values)
        self.payload_columns = tuple(
            dict.fromkeys(
                [*self.key_columns, *self.name_columns, *(c.source for c in config.items.columns)]
            )
        )

    def _rule(self, column: Any, slot: int) -> _Rule:
        """A column's reader: normalise (``column_types``), ``to_monday``, encode canonically."""
        source, column_type, value_map = column.source, COLUMN_TYPES[column.type], column.value_map
        normalize: Callable[[object], Normalized]
        write: Callable[[Any], Any] = column_type.to_monday
        if column.transform == "canonical_customer":
            source = self.config.source.customer_column
            canonical = self.config.canonical_customer

            def normalize(raw: object) -> Normalized:
                return canonical(str(raw or ""))
        elif column_type.reads_plain_text(value_map):
            normalize = _fast_text
            write = column_type.write  # cleaned text is never blank: to_monday's checks are moot
        else:

            def normalize(raw: object) -> Normalized:
                return column_type.normalize(raw, source, value_map)

        prefix = f"{_CANONICAL(column.column_id)}:"

        def cell(raw: object) -> _Cell:
            value = normalize(raw)
            return value, None if value is None else prefix + _CANONICAL(write(value))

        reject = column.on_invalid == "reject_row"
        numeric = column_type.parse is normalize_number
        same_when_equal = _SAME_NUMBER_WHEN_EQUAL if numeric else _SAME_WHEN_EQUAL
        return _Rule(column.column_id, source, column_type, reject, slot, cell, {}, same_when_equal)

    def build(self, row: Mapping[str, object]) -> OrderLine | LineProblems:
        """Validate and derive one order line; never drops or changes a value silently."""
        problems: list[RowRejected] = []
        warnings: list[RowRejected] = []
        key = self._key(row, problems)
        values, values_json = self._values(row, problems, warnings)
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
            values_json=values_json,
            sizes=sizes,
            customer=customer,
            po_number=po_number,
            season=season,
            row_hash=hash_encoded(name, group, values_json, sizes),
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
    ) -> tuple[dict[str, Normalized], str]:
        """The pushed columns: normalised, and as monday's JSON encoded (``encode_values``'s
        text, spliced from each column's fragment in sorted column id order, empty values left
        out).

        Each column remembers what each distinct raw value gave (most repeat: prices, dates,
        seasons, labels), keyed by the value and, but for plain strings, its type
        (``True == 1``). A value that fails is worked out, and rejected, every time.
        """
        values: dict[str, Normalized] = {}
        fragments: list[str | None] = [None] * len(self.rules)
        try:
            raws = self._source_cells(row)
        except KeyError:  # a row without some columns (tests, partial rows)
            raws = tuple(map(row.get, self._sources))
        for rule, raw in zip(self.rules, raws, strict=True):
            column_id, _, _, reject, slot, cell, memo, same_when_equal = rule
            key = raw if type(raw) is str else (type(raw), raw)
            try:
                found = memo.get(key)
            except TypeError:  # an unhashable raw value: no shortcut
                found = None
            if found is None:
                try:
                    found = cell(raw)
                except RowRejected as rejected:
                    (problems if reject else warnings).append(rejected)
                    continue
                if len(memo) < _MEMO_SIZE and _memoizable(raw, same_when_equal):
                    memo[key] = found
            values[column_id], fragments[slot] = found
        return values, f"{{{','.join(filter(None, fragments))}}}"

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
            raws = self._size_cells(row)
        except KeyError:  # a row without some size columns (tests, partial rows)
            raws = tuple(row.get(size) for size in self.size_columns)
        cells: Iterable[tuple[str, object]] = zip(self.size_columns, raws, strict=True)
        if _PLAIN_CELLS.issuperset(map(type, raws)):
            # ints and NULLs only (INT size columns): the falsy cells are exactly the empty
            # ones (0, NULL), and C leaves them out
            cells = compress(cells, raws)
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


def _items_getter(keys: tuple[Any, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``lambda items: tuple(items[key] for key in keys)`` in one C call, for any number of
    keys (a row's cells: ``KeyError`` when the row lacks one)."""
    if not keys:
        return lambda items: ()
    getter = operator.itemgetter(*keys)
    return (lambda items: (getter(items),)) if len(keys) == 1 else getter


_SAME_WHEN_EQUAL: frozenset[type] = frozenset({str, int, bool, type(None), date})
# Equal numbers read as the same number (1.0 and 1.00, 0.0 and -0.0), but not as the same text.
_SAME_NUMBER_WHEN_EQUAL = _SAME_WHEN_EQUAL | {Decimal, float}


def _memoizable(raw: object, same_when_equal: frozenset[type]) -> bool:
    """Whether every raw value equal to ``raw`` (and of its type) reads as it does, so that a
    column may remember what it gave: of ``same_when_equal``'s types, or a naive datetime (aware
    ones are equal in different time zones, not on the same day). Not, in a text column,
    ``Decimal('1.0')`` and ``Decimal('1.00')``, nor ``0.0`` and ``-0.0``."""
    kind = type(raw)
    return kind in same_when_equal or (kind is datetime and raw.tzinfo is None)  # type: ignore[attr-defined]


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    return value
