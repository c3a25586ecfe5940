"""Many rows at once (``db.engine.insert_rows``): COPY on PostgreSQL, executemany elsewhere,
with pyodbc's ``fast_executemany`` on SQL Server; the rows, given as dicts or as tuples in the
order of named columns, read back as written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from ordersync.db import Database
from ordersync.db.engine import engine_options, insert_rows, prepare_bulk
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
