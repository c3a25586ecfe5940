"""Many rows at once (``db.engine.insert_rows``): COPY on PostgreSQL, executemany elsewhere,
with pyodbc's ``fast_executemany`` on SQL Server; the rows, given as dicts or as tuples in the
order of named columns, read back as written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql

from ordersync.db import Database
from ordersync.db.engine import (
    _copy_types,
    engine_options,
    insert_rows,
    prepare_bulk,
    refresh_statistics,
)
from ordersync.db.migrate import upgrade

ROWS = [
    {
        "batch_id": "b1",
        "order_key": key,
        "row_hash": "h" * 64,
        "line": line,
        "raw_digest": digest,
    }
    for key, line, digest in (
        ("GRY-1", '{"name":"Café \\"Crew\\" Tee"}', "d" * 64),
        ("GRY-2", "tab\there, newline\nthere, back\\slash, ;DROP TABLE x;--", None),
        ("O'NEIL-3", "", "e" * 64),
    )
]


def test_rows_read_back_as_written(db_url: str) -> None:
    db = Database.connect(db_url)
    upgrade(db.engine)
    scan = db.tables.scan
    started = datetime(2026, 12, 2, 4, 5, 6)
    staged = [
        {
            "stg_id": f"s{n}",
            "batch_id": "b1",
            "action": "CREATE",
            "order_key": f"K{n}",
            "status": "PENDING",
            "created_at": started,
            "raw_digest": None,
        }
        for n in range(3)
    ]
    columns = tuple(ROWS[0])
    with db.engine.begin() as connection:
        insert_rows(connection, scan, ROWS[:1])
        insert_rows(connection, scan, [tuple(row.values()) for row in ROWS[1:]], columns)
        insert_rows(connection, db.tables.staged_items, staged)
        insert_rows(connection, scan, [])
    with db.engine.connect() as connection:
        got = connection.execute(sa.select(scan).order_by(scan.c.order_key)).mappings().all()
        items = connection.execute(sa.select(db.tables.staged_items)).mappings().all()
    assert [dict(row) for row in got] == sorted(ROWS, key=lambda r: r["order_key"])
    assert [(r.created_at, r.attempts) for r in items] == [(started, 0)] * 3  # server default
    db.engine.dispose()


def test_sql_server_writes_parameter_arrays() -> None:
    """pyodbc's fast_executemany is set where the engine is made; the rows go as one
    executemany of an INSERT that compiles for SQL Server."""
    assert engine_options(sa.make_url("mssql+pyodbc://u@dsn"))["fast_executemany"] is True
    assert "fast_executemany" not in engine_options(sa.make_url("postgresql+psycopg://u@h/db"))
    sent: list[tuple[Any, ...]] = []

    def executor(statement: sa.ClauseElement, *multiparams: Any, **params: Any) -> None:
        sent.append((str(statement.compile(dialect=mssql.dialect())), multiparams))

    engine = sa.create_mock_engine("mssql+pyodbc://", executor)
    scan = Database.connect("sqlite://").tables.scan
    insert_rows(engine, scan, ROWS)  # type: ignore[arg-type]
    insert_rows(engine, scan, [tuple(row.values()) for row in ROWS], tuple(ROWS[0]))  # type: ignore[arg-type]
    ((statement, (rows,)), (again, (named,))) = sent
    assert statement.startswith("INSERT INTO [MON_SyncScan]") and rows == ROWS
    assert (again, named) == (statement, ROWS)  # tuples go as the same named parameters


def test_set_based_work_gets_its_settings_for_its_transaction_only(db_url: str) -> None:
    """PostgreSQL: no JIT (it compiled the row digest for minutes) and room to hash a scope."""
    db = Database.connect(db_url)
    settings = ("jit", "work_mem")

    def shown(connection: sa.Connection) -> tuple[str, ...]:
        return tuple(connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in settings)

    with db.engine.begin() as connection:
        before = shown(connection) if db.engine.dialect.name == "postgresql" else ()
        prepare_bulk(connection)
        if db.engine.dialect.name == "postgresql":
            assert shown(connection) == ("off", "64MB")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            assert shown(connection) == before  # SET LOCAL: gone with the transaction
    db.engine.dispose()


def test_typed_rows_go_in_binary_and_read_back_as_written(db_url: str) -> None:
    """Staged rows as plan writes them (``typed``): text, integers, NULLs and timestamps;
    on PostgreSQL every column of the staged tables has a type a binary COPY can send."""
    db = Database.connect(db_url)
    upgrade(db.engine)
    items, subitems = db.tables.staged_items, db.tables.staged_subitems
    started = datetime(2026, 12, 2, 4, 5, 6, 789000)
    columns = ("stg_id", "batch_id", "action", "order_key", "qty", "size_label", "status")
    rows = [
        ("s1", "b1", "CREATE", "O'NEIL-3", 2_147_483_647, 'Café "M"\ttab', "PENDING"),
        ("s2", "b1", "UPDATE", "GRY-2", None, "XL", "PENDING"),
    ]
    with db.engine.begin() as connection:
        insert_rows(
            connection,
            subitems,
            [(*row, started) for row in rows],
            (*columns, "created_at"),
            typed=True,
        )
    with db.engine.connect() as connection:
        got = connection.execute(
            sa.select(*(subitems.c[name] for name in columns), subitems.c.created_at).order_by(
                subitems.c.stg_id
            )
        ).all()
    assert [tuple(row) for row in got] == [(*row, started) for row in rows]
    for table in (items, subitems, db.tables.scan):
        names = [column.name for column in table.c]
        assert _copy_types(postgresql.dialect(), table, names) is not None, table.name
    db.engine.dispose()


def test_statistics_count_the_rows_written_in_the_transaction(db_url: str) -> None:
    """PostgreSQL plans the scan ⋈ mirror pages for the rows the scan holds, not for an empty
    table (``refresh_statistics`` before the transaction commits)."""
    db = Database.connect(db_url)
    upgrade(db.engine)
    scan = db.tables.scan
    rows = [{**ROWS[0], "order_key": f"K{n:05d}"} for n in range(5_000)]
    with db.engine.begin() as connection:
        insert_rows(connection, scan, rows)
        refresh_statistics(connection, scan)
        if db.engine.dialect.name == "postgresql":
            counted = connection.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
                {"name": connection.dialect.identifier_preparer.format_table(scan)},
            ).scalar_one()
            assert counted == 5_000
    db.engine.dispose()


def test_concurrent_plans_do_not_wait_on_each_others_statistics(db_url: str) -> None:
    """A second transaction refreshing the scan's statistics while the first still holds
    ANALYZE's lock goes on at once (it skips them), never waits for the first to commit."""
    db = Database.connect(db_url)
    upgrade(db.engine)
    scan = db.tables.scan
    with db.engine.begin() as first:
        refresh_statistics(first, scan)
        with db.engine.begin() as second:
            if db.engine.dialect.name == "postgresql":
                second.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            refresh_statistics(second, scan)  # waiting: "canceling statement due to lock timeout"
    db.engine.dispose()
