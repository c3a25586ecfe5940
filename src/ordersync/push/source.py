"""Reading the order source (``ORDERS_UNIFIED``): columns, size detection, scope, chunks.

ordersync only needs SELECT on the source. The table is reflected once; every configured
column is checked before any work; size columns are found between the configured markers
(integer columns only, so a text column such as ``INFOR COLOUR CODE`` inside the range is
skipped) or taken from an explicit list. Rows are streamed in chunks with bound parameters.

SQLite does not check what a DATE or DATETIME column holds (``'0000-00-00'``, ``'not a
date'``), so there such columns are read as the text they hold: a bad value becomes an
``INVALID_DATE`` row at planning, never a failed read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db.types import stored_length
from ordersync.errors import ConfigError, SourceError
from ordersync.push.lines import LIMITS


@dataclass(frozen=True)
class Scope:
    """Which order lines a run looks at: one customer (any spelling), optionally PO and season."""

    customer: str
    po_number: str | None = None
    season: str | None = None

    def __post_init__(self) -> None:
        if not self.customer.strip():
            raise ConfigError("--customer must not be empty")
        for option, value in (
            ("customer", self.customer),
            ("po_number", self.po_number),
            ("season", self.season),
        ):
            limit = LIMITS.scope[option]  # the batch and the mirror record the scope
            if value is not None and limit is not None and stored_length(value) > limit:
                flag = "--" + option.replace("_", "-")
                raise ConfigError(f"{flag} is {stored_length(value)} characters; at most {limit}")


@dataclass(frozen=True)
class SourceTable:
    """The reflected source table and the columns ordersync reads from it."""

    table: sa.Table
    size_columns: tuple[str, ...]
    read_columns: tuple[str, ...]
    dates_as_text: bool = False  # SQLite: DATE columns may hold anything

    def column(self, name: str) -> sa.Column:
        return self.table.c[name]

    def readable(self, name: str) -> sa.ColumnElement[Any]:
        """A column as it is read: on SQLite, a DATE or DATETIME column as its raw text."""
        column = self.column(name)
        if self.dates_as_text and isinstance(column.type, sa.Date | sa.DateTime):
            return sa.type_coerce(column, sa.Unicode()).label(name)
        return column


def reflect_source(engine: sa.Engine, config: SyncConfig) -> SourceTable:
    """Reflect the source table and check the configuration against it.

    Raises:
        SourceError: the table does not exist.
        ConfigError: a configured column is missing, or no size column is found.
    """
    src = config.source
    try:
        table = sa.Table(src.table, sa.MetaData(), schema=src.db_schema, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        where = f"{src.db_schema}.{src.table}" if src.db_schema else src.table
        raise SourceError(
            f"source table {where} not found (run `ordersync demo-data` to create a sample)"
        ) from None
    sizes = detect_size_columns(table, config)
    wanted = [
        *src.key_columns,
        src.customer_column,
        src.po_column,
        src.season_column,
        *config.items.name_columns,
        *config.items.group_columns,
        *(column.source for column in config.items.columns),
        config.items.cancelled.column,
    ]
    missing = sorted({name for name in wanted if name not in table.c})
    if missing:
        raise ConfigError(f"columns not in source table {src.table}: {missing}")
    read = tuple(dict.fromkeys([*wanted, *sizes]))
    return SourceTable(
        table=table,
        size_columns=sizes,
        read_columns=read,
        dates_as_text=engine.dialect.name == "sqlite",
    )


def detect_size_columns(table: sa.Table, config: SyncConfig) -> tuple[str, ...]:
    """The size columns: the explicit list, else integer columns between the markers."""
    src = config.source
    names = [column.name for column in table.columns]
    if src.size_columns is not None:
        missing = [name for name in src.size_columns if name not in table.c]
        if missing:
            raise ConfigError(f"source.size_columns not in source table: {missing}")
        return tuple(src.size_columns)
    assert src.size_range is not None
    for marker in (src.size_range.after, src.size_range.before):
        if marker not in table.c:
            raise ConfigError(f"size marker column {marker!r} not in source table {src.table}")
    start = names.index(src.size_range.after) + 1
    end = names.index(src.size_range.before)
    sizes = tuple(name for name in names[start:end] if _is_integer(table.c[name].type))
    if not sizes:
        raise ConfigError(
            f"no integer size columns between {src.size_range.after!r} and "
            f"{src.size_range.before!r} in {src.table}"
        )
    return sizes


def _is_integer(column_type: sa.types.TypeEngine) -> bool:
    return isinstance(column_type, sa.Integer) or (
        isinstance(column_type, sa.Numeric) and getattr(column_type, "scale", None) == 0
    )


def scope_condition(
    source: SourceTable, config: SyncConfig, scope: Scope
) -> sa.ColumnElement[bool]:
    """WHERE clause for a scope: the customer under every alias, PO and season exact."""
    src = config.source
    customer = _customer(source, config)
    conditions: list[sa.ColumnElement[bool]] = [customer.in_(config.customer_names(scope.customer))]
    if scope.po_number is not None:
        conditions.append(sa.func.trim(source.column(src.po_column)) == scope.po_number.strip())
    if scope.season is not None:
        conditions.append(sa.func.trim(source.column(src.season_column)) == scope.season.strip())
    return sa.and_(*conditions)


def _customer(source: SourceTable, config: SyncConfig) -> sa.ColumnElement[str]:
    """The customer column as scopes compare it: trimmed, upper-cased."""
    return sa.func.upper(sa.func.trim(source.column(config.source.customer_column)))


def customers_condition(
    source: SourceTable, config: SyncConfig, customers: Sequence[str] | None
) -> sa.ColumnElement[bool]:
    """WHERE clause for some customers (any spelling of each), or for every line (``None``)."""
    if customers is None:
        return sa.true()
    names = sorted({name for customer in customers for name in config.customer_names(customer)})
    return _customer(source, config).in_(names)


def source_customers(
    connection: sa.Connection, source: SourceTable, config: SyncConfig
) -> list[str]:
    """The canonical names of the customers that have lines in the source (one SELECT
    DISTINCT), sorted: every spelling of a customer counts once, under its canonical name."""
    spelled = connection.execute(sa.select(_customer(source, config)).distinct()).scalars()
    return sorted({config.canonical_customer(name) for name in spelled if name})


def known_customers(
    connection: sa.Connection, source: SourceTable, config: SyncConfig, requested: Sequence[str]
) -> list[str]:
    """The canonical names of ``requested`` customers, each checked to be known: a spelling in
    the source or in the configuration's customer table (canonical name or alias).

    Raises:
        ConfigError: a customer nobody knows, naming the closest known names (a typo such as
            ``NORTHBEY`` must not be "nothing to do").
    """
    spelled = connection.execute(sa.select(_customer(source, config)).distinct()).scalars()
    known = {name for name in spelled if name} | set(config.canonical_customers)
    known |= {name.strip().upper() for name in config.canonical_customers.values()}
    unknown = [c for c in requested if c.strip().upper() not in known]
    if unknown:
        customer = unknown[0].strip().upper()
        close = difflib.get_close_matches(customer, sorted(known), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"unknown customer {unknown[0]!r}: not in the source table nor in the "
            f"configuration's [customers]{hint}"
        )
    return list(dict.fromkeys(config.canonical_customer(c) for c in requested))


def distinct_counts(
    connection: sa.Connection,
    source: SourceTable,
    columns: Sequence[str],
    where: sa.ColumnElement[bool],
) -> list[tuple[tuple[Any, ...], int]]:
    """The distinct value combinations of ``columns`` among the lines ``where`` selects, with how
    many lines carry each (``SELECT …, COUNT(*) … GROUP BY …``: set-based, bound parameters)."""
    selected = [source.readable(name) for name in columns]
    statement = (
        sa.select(*selected, sa.func.count().label("lines"))
        .where(where)
        .group_by(*(source.column(name) for name in columns))
    )
    return [(tuple(row[:-1]), int(row[-1])) for row in connection.execute(statement)]


def select_scope(source: SourceTable, config: SyncConfig, scope: Scope) -> sa.Select:
    """The scoped source rows, in key order, only the columns ordersync reads."""
    columns = [source.readable(name) for name in source.read_columns]
    order = [source.column(name) for name in config.source.key_columns]
    return sa.select(*columns).where(scope_condition(source, config, scope)).order_by(*order)


def iter_chunks(
    connection: sa.Connection, statement: sa.Select, chunk_size: int
) -> Iterator[list[dict[str, object]]]:
    """Stream a SELECT as lists of row mappings, at most ``chunk_size`` rows in memory."""
    result = connection.execute(
        statement, execution_options={"stream_results": True, "yield_per": chunk_size}
    )
    with result:
        keys = tuple(result.keys())
        for partition in result.partitions(chunk_size):
            yield [dict(zip(keys, row, strict=True)) for row in partition]
