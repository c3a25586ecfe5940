"""Transient database errors: the classifier per dialect (synthetic SQL Server errors, real
psycopg and sqlite3 exception classes) and the retry loop on a manual clock."""

from __future__ import annotations

import sqlite3
import types

import psycopg
import psycopg.errors
import pytest
import sqlalchemy as sa

from ordersync.cli import _failure
from ordersync.clock import ManualClock
from ordersync.db.retry import (
    BACKOFF_FIRST,
    BACKOFF_MAX,
    TRANSIENT_MSSQL_ERRORS,
    is_transient,
    retry_transient,
)
from ordersync.errors import DatabaseUnavailableError

# pyodbc's and pymssql's exception classes without the drivers: what the classifier reads is
# their shape (a DB-API ``Error`` subclass and its ``args``), as the drivers raise them.
pyodbc = types.ModuleType("pyodbc")
pyodbc.Error = type("Error", (Exception,), {"__module__": "pyodbc"})  # type: ignore[attr-defined]
pyodbc.OperationalError = type("OperationalError", (pyodbc.Error,), {"__module__": "pyodbc"})  # type: ignore[attr-defined]
pymssql = types.ModuleType("pymssql")
pymssql.Error = type("Error", (Exception,), {"__module__": "pymssql"})  # type: ignore[attr-defined]


def odbc(number: int, sqlstate: str = "42000") -> Exception:
    message = (
        f"[{sqlstate}] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"
        f"Something happened. ({number}) (SQLExecDirectW)"
    )
    return pyodbc.OperationalError(sqlstate, message)  # type: ignore[attr-defined,no-any-return]


def wrapped(error: Exception) -> sa.exc.DBAPIError:
    return sa.exc.DBAPIError.instance("SELECT 1", {}, error, pyodbc.Error)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "number",
    [1205, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 10053, 10054, 10060, 233, 64],
)
def test_sql_server_s_transient_errors(number: int) -> None:
    assert number in TRANSIENT_MSSQL_ERRORS
    assert is_transient(wrapped(odbc(number)), "mssql")
    assert is_transient(odbc(number), "mssql")  # unwrapped too
    assert is_transient(pymssql.Error(number, b"message"), "mssql")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (pyodbc.Error("08S01", "[08S01] Communication link failure (10054)"), True),  # type: ignore[attr-defined]
        (pyodbc.Error("08001", "[08001] TCP Provider: connection refused"), True),  # type: ignore[attr-defined]
        (pyodbc.Error("40001", "[40001] chosen as deadlock victim"), True),  # type: ignore[attr-defined]
        (odbc(2627, "23000"), False),  # a primary key violated
        (odbc(208), False),  # an invalid object name
        (odbc(547, "23000"), False),  # a foreign key violated
        (pymssql.Error(2627, b"duplicate key"), False),  # type: ignore[attr-defined]
    ],
)
def test_sql_server_s_other_errors(error: Exception, transient: bool) -> None:
    assert is_transient(wrapped(error), "mssql") is transient


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (psycopg.errors.SerializationFailure(), True),  # 40001
        (psycopg.errors.DeadlockDetected(), True),  # 40P01
        (psycopg.errors.AdminShutdown(), True),  # 57P01: pg_terminate_backend, a fast stop
        (psycopg.errors.CrashShutdown(), True),  # 57P02
        (psycopg.errors.CannotConnectNow(), True),  # 57P03: the server is starting
        (psycopg.errors.TooManyConnections(), True),  # 53300
        (psycopg.errors.ConnectionFailure(), True),  # 08006
        (psycopg.errors.ConnectionException(), True),  # 08000
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.UniqueViolation(), False),  # 23505
        (psycopg.errors.UndefinedTable(), False),  # 42P01
        (psycopg.errors.QueryCanceled(), False),  # 57014: a statement timeout is not retried
        (psycopg.errors.DiskFull(), False),  # 53100
    ],
)
def test_postgresql_errors(error: Exception, transient: bool) -> None:
    assert (
        is_transient(sa.exc.DBAPIError.instance("SELECT 1", {}, error, psycopg.Error)) is transient
    )
    assert is_transient(error, "postgresql") is transient


def test_sqlite_busy_and_locked_are_transient() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5  # type: ignore[attr-defined]
    locked = sqlite3.OperationalError("database table is locked")
    locked.sqlite_errorcode = 6 | (1 << 8)  # type: ignore[attr-defined]  # SQLITE_LOCKED_SHAREDCACHE
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]
    assert is_transient(busy, "sqlite") and is_transient(locked, "sqlite")
    assert not is_transient(full, "sqlite")


def test_a_connection_sqlalchemy_saw_die_is_transient_on_any_dialect() -> None:
    error = sa.exc.DBAPIError.instance(
        "SELECT 1",
        {},
        pyodbc.Error("HY000", "odd"),
        pyodbc.Error,
        connection_invalidated=True,  # type: ignore[attr-defined]
    )
    assert is_transient(error, "mssql") and is_transient(error, "sqlite")


def test_errors_that_are_not_the_server_s_are_not_transient() -> None:
    assert not is_transient(ValueError("(1205)"), "mssql")
    assert not is_transient(sa.exc.ArgumentError("08001"))
    assert not is_transient(DatabaseUnavailableError("x", "(10054)", 3), "mssql")
    # a PostgreSQL error is not classified by SQL Server's rules
    assert not is_transient(psycopg.errors.UniqueViolation(), "mssql")


# ------------------------------------------------------------------------------ the loop
@pytest.fixture
def engine() -> sa.Engine:
    return sa.create_engine("postgresql+psycopg://", module=psycopg)


def test_retries_back_off_on_the_clock_until_the_work_succeeds(engine: sa.Engine) -> None:
    clock, calls, befores = ManualClock(), [], []

    def work() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise sa.exc.OperationalError("SELECT 1", {}, psycopg.errors.DeadlockDetected())
        return "done"

    result = retry_transient(
        work, engine, "testing", clock=clock, before_retry=lambda: befores.append(1)
    )
    assert result == "done" and len(calls) == 4 and len(befores) == 3
    assert clock.slept == [BACKOFF_FIRST, BACKOFF_FIRST * 2, BACKOFF_FIRST * 4]


def test_retries_spent_stop_the_run_with_what_happened(engine: sa.Engine) -> None:
    clock = ManualClock()

    def work() -> None:
        raise sa.exc.OperationalError(
            "INSERT INTO x VALUES (%(secret)s)",
            {"secret": "not-in-the-message"},
            psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        )

    with pytest.raises(DatabaseUnavailableError) as stopped:
        retry_transient(work, engine, "delivering batch b1", clock=clock, attempts=6)
    error = stopped.value
    assert error.attempts == 6 and len(clock.slept) == 5 and max(clock.slept) <= BACKOFF_MAX
    assert str(error) == (
        "the database failed while delivering batch b1, 6 times in a row (terminating "
        "connection due to administrator command); what was committed is kept"
    )
    code, label, _, message, hint = _failure(error, "sync")  # type: ignore[misc]
    assert (code, label, message) == (1, "database error:", str(error))
    assert "finishes any batch left unfinished" in hint


def test_a_permanent_error_is_raised_at_once(engine: sa.Engine) -> None:
    clock, calls = ManualClock(), []

    def work() -> None:
        calls.append(1)
        raise sa.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation())

    with pytest.raises(sa.exc.IntegrityError):
        retry_transient(work, engine, "testing", clock=clock)
    assert calls == [1] and clock.slept == []


def test_an_unretried_transient_error_says_the_run_can_be_repeated() -> None:
    error = sa.exc.OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("gone"))
    code, label, _, message, hint = _failure(error, "pull")  # type: ignore[misc]
    assert (code, label, message) == (1, "database error:", "the database connection failed (gone)")
    assert hint == "run the same `ordersync pull` again"
