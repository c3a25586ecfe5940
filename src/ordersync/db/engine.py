"""Connecting to the configured database, with the few dialect differences in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ordersync.chunking import chunked
from ordersync.errors import ConfigError

logger = logging.getLogger(__name__)

# The capability table: what differs per dialect, and nothing else.
MAX_BOUND_PARAMETERS = {"sqlite": 999, "postgresql": 30_000, "mssql": 2_000}
# Writing many rows at once (``insert_rows``): PostgreSQL through psycopg takes them by COPY;
# SQL Server through pyodbc by executemany with ``fast_executemany`` (parameter arrays, one
# round trip per call); the rest by plain executemany.
COPY_DRIVERS = {("postgresql", "psycopg")}
# Set at the start of a transaction doing set-based work over a whole scope (``plan``):
# PostgreSQL's JIT compiles the row digest over ~200 source columns (``raw_digest``) for minutes
# before running it (measured: 305 s against 6 s without, 100,000 rows on a loaded machine);
# its hash aggregates and sorts over a scope (duplicate keys) spill to disk at the default 4 MB
# of work_mem (500,000 lines: 0.95 s with it, 0.32 s with 64 MB).
BULK_SETTINGS: dict[str, tuple[str, ...]] = {
    "postgresql": ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")
}
# PostgreSQL: a table a run has rewritten wholesale (the mirror after a large delivery, the
# scan a plan fills and empties) is vacuumed and analysed when the run ends, whether autovacuum
# runs or not; one another run holds a lock on is left alone (``SKIP_LOCKED``: never a wait).
VACUUM = {"postgresql": "VACUUM (ANALYZE, SKIP_LOCKED) {}"}
ENGINE_OPTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("sqlite", "pysqlite"): {"connect_args": {"timeout": 30}},  # SQLite waits on locks
    ("mssql", "pyodbc"): {"fast_executemany": True},
}


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; ``postgresql://`` means psycopg 3, SQLite waits on locks, and
    connections the server dropped are reconnected (``pool_pre_ping``).

    Raises:
        ConfigError: the URL cannot be parsed or its driver is not installed.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"ORDERSYNC_DATABASE_URL is not a database URL: {exc}") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = sa.create_engine(parsed, **engine_options(parsed))
    except sa.exc.NoSuchModuleError:
        raise ConfigError(
            f"ORDERSYNC_DATABASE_URL names an unknown database kind: {parsed.drivername}"
        ) from None
    except ModuleNotFoundError as exc:
        extra = {"postgresql": "postgres", "mssql": "mssql"}.get(parsed.get_backend_name(), "")
        hint = f" (pip install 'ordersync[{extra}]')" if extra else ""
        raise ConfigError(f"database driver not installed: {exc.name}{hint}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a reader and a writer (two ordersync commands) work side by side.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_options(url: sa.URL) -> dict[str, Any]:
    """``create_engine`` options for a URL's dialect and driver (``ENGINE_OPTIONS``).

    Every pooled connection is tested before use: one the server dropped (a restart,
    ``pg_terminate_backend``, a failover) is replaced instead of failing the next statement.
    """
    dialect = url.get_dialect()
    return {"pool_pre_ping": True, **ENGINE_OPTIONS.get((dialect.name, dialect.driver), {})}


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Any],
    columns: Sequence[str] | None = None,
    *,
    typed: bool = False,
) -> None:
    """Insert many rows: COPY where the driver has it, else executemany.

    ``rows`` are dicts with the same keys or, given ``columns``, sequences of the values of
    those columns in that order (no dict built a row where COPY takes them as they are).
    The values are sent as data either way (COPY's rows, or bound parameters); only the
    table's and columns' names, quoted as identifiers, are part of the statement.
    ``typed``: each value is of its column's Python type (``str`` for text, ``int`` for an
    integer, ``datetime`` for a timestamp), so a COPY can take the rows in binary.
    """
    if not rows:
        return
    dialect = connection.dialect
    if (dialect.name, dialect.driver) not in COPY_DRIVERS:
        named = rows if columns is None else [dict(zip(columns, row, strict=True)) for row in rows]
        connection.execute(table.insert(), named)
        return
    from psycopg import sql

    names = list(rows[0]) if columns is None else list(columns)
    values = rows if columns is not None else ([row[name] for name in names] for row in rows)
    name = sql.Identifier(*filter(None, (table.schema, table.name)))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        name, sql.SQL(", ").join(sql.Identifier(column) for column in names)
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    types = _copy_types(connection.dialect, table, names) if typed else None
    if types is not None:
        statement = sql.SQL("{} (FORMAT BINARY)").format(statement)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        if types is not None:
            copy.set_types(types)
        for row in values:
            copy.write_row(row)


def _copy_types(dialect: sa.Dialect, table: sa.Table, names: Sequence[str]) -> list[str] | None:
    """The PostgreSQL type of each column, for a binary COPY (``None``: one is not a type
    psycopg knows by name, so the COPY is text). Binary rows cost a third of the client's CPU
    of text ones (no value formatted as text) and less of the server's (no text parsed):
    measured, 640,000 staged rows, client 4.2 -> 1.2 s, server 8.8 -> 7.8 s. Only for typed
    rows: text COPY lets the server parse a ``str`` into a date or a uuid, binary does not."""
    from psycopg.postgres import types as known

    compiled = [str(table.c[name].type.compile(dialect=dialect)) for name in names]
    types = [text.split("(")[0].strip().lower() for text in compiled]
    return types if all(known.get(name) is not None for name in types) else None


def prepare_bulk(connection: sa.Connection) -> None:
    """Ready a transaction for set-based work over many rows (``BULK_SETTINGS``)."""
    for statement in BULK_SETTINGS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def refresh_statistics(connection: sa.Connection, table: sa.Table) -> None:
    """Have the planner count the rows just written to ``table`` in this transaction.

    PostgreSQL's autovacuum analyzes a table only after the rows are committed (and then only
    some time later): a query over 100,000 scan rows written in the same transaction is
    planned for ~1,000, and each keyset page of the scan ⋈ mirror join sorted all of them on
    disk (~0.9 s a page, 167 MB of temporary files; measured). ``ANALYZE`` samples the table
    (own uncommitted rows included); elsewhere nothing is needed (SQLite plans by index).
    Its lock is held to the end of the transaction and taken by no other ``ANALYZE``: one
    that finds it taken (another board's plan under way) is skipped (``SKIP_LOCKED``, from
    PostgreSQL 12), so concurrent plans never wait on each other here.
    """
    if connection.dialect.name == "postgresql":
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {name}")


def vacuum(engine: sa.Engine, tables: Sequence[sa.Table], kept: str) -> None:
    """``VACUUM`` ``tables`` now, outside any transaction (as VACUUM must run). The run before
    it is done (``kept`` says what it kept): a failure is logged, not raised; the next run
    only finds the tables as autovacuum left them."""
    statement = VACUUM.get(engine.dialect.name)
    if statement is None:
        return
    names = ", ".join(engine.dialect.identifier_preparer.format_table(t) for t in tables)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(statement.format(names))
    except sa.exc.SQLAlchemyError as error:
        logger.warning("vacuuming %s failed (%s); %s", names, error, kept)


def max_parameters(connection: sa.Connection) -> int:
    return MAX_BOUND_PARAMETERS.get(connection.dialect.name, 999)


T = TypeVar("T")


def parameter_chunks(connection: sa.Connection, values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices that fit one statement's bound parameters on this dialect (20 kept
    for the rest of the statement; 1,000 at most, as long ``IN`` lists plan badly)."""
    return chunked(values, max(1, min(1000, max_parameters(connection) - 20)))


def utcnow() -> datetime:
    """Naive UTC, as every ordersync timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def upsert(
    connection: sa.Connection, table: sa.Table, keys: dict[str, object], values: dict[str, object]
) -> None:
    """Update the row with ``keys``, or insert it (portable: no dialect-specific MERGE).

    Safe because every writer holds the board's delivery lock.
    """
    condition = sa.and_(*(table.c[name] == value for name, value in keys.items()))
    updated = connection.execute(table.update().where(condition).values(**values))
    if updated.rowcount == 0:
        connection.execute(table.insert().values(**keys, **values))
