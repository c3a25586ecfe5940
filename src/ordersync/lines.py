"""One source row → one order line as it should look on the board (pure functions).

This is where a row is validated and normalised, where its item name, group and column values
are derived, where its sizes are melted into subitems, and where its row hash is computed.
``plan`` calls it for every row in scope; nothing here touches a database or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ordersync.config import ColumnMapping, SyncConfig
from ordersync.errors import RowRejected
from ordersync.normalize import (
    Normalized,
    clean_text,
    normalize_quantity,
    normalize_value,
    order_key,
    row_hash,
)

MAX_ITEM_NAME = 255


@dataclass(frozen=True)
class OrderLine:
    """An order line ready to stage: what its item and subitems on monday must hold."""

    key: tuple[str, ...]
    order_key: str
    item_name: str
    group_title: str
    values: dict[str, Normalized]  # board column id → normalised value
    sizes: dict[str, int]  # size label → quantity > 0, in source column order
    customer: str
    po_number: str | None
    season: str | None
    row_hash: str
    warnings: tuple[RowRejected, ...] = ()  # values left off under on_invalid = "skip_value"

    def subitem_hash(self, size: str) -> str:
        return subitem_hash(size, self.sizes[size])


@dataclass
class LineProblems:
    """A row that cannot be staged, with every reason found (not just the first)."""

    key: tuple[str, ...] | None
    problems: list[RowRejected] = field(default_factory=list)
    payload: dict[str, object] = field(default_factory=dict)


def subitem_hash(size: str, qty: int) -> str:
    return row_hash({"size": size, "qty": qty})


def row_key(row: Mapping[str, object], config: SyncConfig) -> tuple[str, ...] | None:
    """The natural key of a row, or ``None`` when any key column is empty."""
    parts = tuple(clean_text(row.get(column)) for column in config.source.key_columns)
    if any(part is None for part in parts):
        return None
    return tuple(part for part in parts if part is not None)


def build_order_line(
    row: Mapping[str, object], config: SyncConfig, size_columns: tuple[str, ...]
) -> OrderLine | LineProblems:
    """Validate and derive one order line; never drops or changes a value silently."""
    key = row_key(row, config)
    problems: list[RowRejected] = []
    if key is None:
        missing = [c for c in config.source.key_columns if clean_text(row.get(c)) is None]
        known = {c: text for c in config.items.name_columns if (text := clean_text(row.get(c)))}
        hint = ", ".join(f"{column} {text}" for column, text in known.items()) or "no name"
        problems.append(
            RowRejected("MISSING_KEY", f"key column(s) empty: {', '.join(missing)} (row: {hint})")
        )
    customer = config.canonical_customer(str(row.get(config.source.customer_column) or ""))
    warnings: list[RowRejected] = []
    values = _column_values(row, config, customer, problems, warnings)
    sizes = _sizes(row, size_columns, problems)
    name = "".join(clean_text(row.get(column)) or "" for column in config.items.name_columns)
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
    if problems or key is None:
        return LineProblems(key=key, problems=problems, payload=source_payload(row, config))
    group = group_title(row, config, customer)
    return OrderLine(
        key=key,
        order_key=order_key(key),
        item_name=name,
        group_title=group,
        values=values,
        sizes=sizes,
        customer=customer,
        po_number=clean_text(row.get(config.source.po_column)),
        season=clean_text(row.get(config.source.season_column)),
        row_hash=row_hash({"name": name, "group": group, **values}),
        warnings=tuple(warnings),
    )


def group_title(row: Mapping[str, object], config: SyncConfig, customer: str) -> str:
    """``<canonical customer> <first non-empty group column>``, e.g. ``GREYSON 2025 FALL``."""
    for column in config.items.group_columns:
        text = clean_text(row.get(column))
        if text:
            return f"{customer} {text}"[:MAX_ITEM_NAME]
    return customer[:MAX_ITEM_NAME]


def _column_values(
    row: Mapping[str, object],
    config: SyncConfig,
    customer: str,
    problems: list[RowRejected],
    warnings: list[RowRejected],
) -> dict[str, Normalized]:
    values: dict[str, Normalized] = {}
    for column in config.items.columns:
        try:
            values[column.column_id] = _mapped_value(row, column, customer)
        except RowRejected as rejected:
            (problems if column.on_invalid == "reject_row" else warnings).append(rejected)
    return values


def _mapped_value(row: Mapping[str, object], column: ColumnMapping, customer: str) -> Normalized:
    if column.transform == "canonical_customer":
        return customer
    return normalize_value(column.type, row.get(column.source), column.source, column.value_map)


def _sizes(
    row: Mapping[str, object], size_columns: tuple[str, ...], problems: list[RowRejected]
) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for size in size_columns:
        raw = row.get(size)
        if raw is None or raw == 0:  # most of ~160 size cells are empty: skip them cheaply
            continue
        try:
            qty = normalize_quantity(raw, size)
        except RowRejected as rejected:
            problems.append(rejected)
            continue
        if qty > 0:
            sizes[size] = qty
    return sizes


def source_payload(row: Mapping[str, object], config: SyncConfig) -> dict[str, object]:
    """The mapped source values of a row, JSON-ready, for the ERR tables."""
    wanted = dict.fromkeys(
        [*config.source.key_columns, *config.items.name_columns]
        + [column.source for column in config.items.columns]
    )
    return {name: _jsonable(row.get(name)) for name in wanted}


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    return value
