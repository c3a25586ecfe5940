"""Transient database failures: which errors are worth retrying, and the one retry loop.

A database under a run can fail in ways that pass: a connection dropped
(``pg_terminate_backend``, a restarted server, a network reset), a deadlock or a serialisation
failure, an Azure SQL database moved or throttled. ``is_transient`` tells those apart from the
failures that will come back (a constraint, a missing table), one classifier per dialect, from
the exception's codes alone (no driver needs to be installed to classify its errors):

- any dialect: SQLAlchemy saw the connection die (``DBAPIError.connection_invalidated``);
- PostgreSQL (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``): ``40001`` serialisation failure,
  ``40P01`` deadlock, ``57P01``–``57P03`` the server shutting down or starting, ``53300`` too
  many connections, class ``08`` connection exceptions, and an ``OperationalError`` with no
  SQLSTATE at all (no answer from the server: refused, reset, closed);
- SQL Server (pyodbc ``(sqlstate, message)``, the native error number in the message as
  ``(1205)``; pymssql ``(number, message)``): ``TRANSIENT_MSSQL_ERRORS`` and SQLSTATE class
  ``08`` or ``40001``;
- SQLite: ``SQLITE_BUSY`` and ``SQLITE_LOCKED`` (another writer outlasted the busy timeout).

``retry_transient`` repeats a unit of work that can be repeated whole (a plan transaction, a
page's record, the lock's row, the delivery of a batch, which resumes from its journal) with
backoff on the injected clock, so tests never sleep. When the failures outlast the attempts it
raises ``DatabaseUnavailableError``: the run stops, exit code 1, the batch resumable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from ordersync.clock import Clock, SystemClock
from ordersync.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds before each retry: doubling from the first, at most the last; about 35 s in all,
# longer than a PostgreSQL restart or an Azure SQL failover usually takes.
BACKOFF_FIRST, BACKOFF_MAX, DEFAULT_ATTEMPTS = 0.5, 10.0, 8

TRANSIENT_POSTGRESQL_STATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300"})

TRANSIENT_MSSQL_ERRORS = frozenset(
    {
        1205,  # chosen as a deadlock victim
        40197,  # the service failed processing the request (failover, upgrade)
        40501,  # the service is busy
        40613,  # the database is not currently available
        49918,  # not enough resources to process the request
        49919,  # too many create or update operations in progress
        49920,  # too many operations in progress
        10928,  # resource limit reached
        10929,  # minimum guarantee not met: resources unavailable
        10053,  # connection aborted by the software of the host
        10054,  # connection reset by the peer
        10060,  # connection timed out
        233,  # no process is on the other end of the pipe
        64,  # the specified network name is no longer available
    }
)
TRANSIENT_MSSQL_STATES = frozenset({"40001"})  # deadlock victim (1205), as ODBC reports it

TRANSIENT_SQLITE_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)

_NATIVE_NUMBER = re.compile(r"\((\d+)\)")


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under a SQLAlchemy wrapper (or ``exc`` itself)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def _is_driver_error(error: BaseException) -> bool:
    """A DB-API driver's exception: it derives from the driver's ``Error`` (PEP 249)."""
    return any(
        cls.__name__ == "Error" and cls.__module__ != "builtins" for cls in type(error).__mro__
    )


def _postgresql(error: BaseException) -> bool:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if state is None:
        # psycopg raises OperationalError without a SQLSTATE when the server did not answer
        return any(cls.__name__ == "OperationalError" for cls in type(error).__mro__)
    state = str(state)
    return state in TRANSIENT_POSTGRESQL_STATES or state.startswith("08")


def _mssql(error: BaseException) -> bool:
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int):  # pymssql: (number, message)
        return args[0] in TRANSIENT_MSSQL_ERRORS
    if not args or not isinstance(args[0], str):
        return False
    state = args[0]  # pyodbc: (sqlstate, "[sqlstate] [driver]... message (number) (call)")
    if state.startswith("08") or state in TRANSIENT_MSSQL_STATES:
        return True
    message = " ".join(str(arg) for arg in args[1:])
    return any(int(n) in TRANSIENT_MSSQL_ERRORS for n in _NATIVE_NUMBER.findall(message))


def _sqlite(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in TRANSIENT_SQLITE_CODES


CLASSIFIERS: dict[str, Callable[[BaseException], bool]] = {
    "postgresql": _postgresql,
    "mssql": _mssql,
    "sqlite": _sqlite,
}
"""Per dialect: is the driver's exception a transient failure?"""


def is_transient(exc: BaseException, dialect: str | None = None) -> bool:
    """Whether ``exc`` is a database failure that the same work may not meet again.

    Args:
        exc: the exception raised (SQLAlchemy's wrapper or the driver's own).
        dialect: ``postgresql``, ``mssql`` or ``sqlite``; ``None`` asks every classifier.
    """
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    error = _driver_error(exc)
    if not _is_driver_error(error):
        return False  # SQLAlchemy's own errors, ordersync's, Python's: never the server's
    if dialect is not None:
        check = CLASSIFIERS.get(dialect)
        return check is not None and check(error)
    return any(check(error) for check in CLASSIFIERS.values())


def first_line(exc: BaseException) -> str:
    """The driver's message, first line only (no SQL, no parameters)."""
    text = str(_driver_error(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def retry_transient(
    work: Callable[[], T],
    engine: sa.Engine,
    what: str,
    *,
    clock: Clock | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    before_retry: Callable[[], None] | None = None,
) -> T:
    """Run ``work``, again after a transient failure of ``engine``'s database, with backoff.

    ``work`` must be repeatable whole: its own transaction, or work that resumes from what
    is committed. The next attempt connects afresh where the connection died: SQLAlchemy
    invalidates the pool on a disconnect, and ``pool_pre_ping`` tests what is left.

    Args:
        work: the unit of work.
        engine: the database it uses (its dialect picks the classifier).
        what: what the work does, for the message (``"staging the plan"``).
        clock: sleeps between attempts (default: the system clock).
        attempts: how many times in all ``work`` is tried.
        before_retry: called before each repeat (e.g. to settle what a lost commit did).

    Raises:
        DatabaseUnavailableError: every attempt failed transiently.
    """
    clock = clock or SystemClock()
    delay = BACKOFF_FIRST
    for attempt in range(1, attempts + 1):
        try:
            if attempt > 1 and before_retry is not None:
                before_retry()
            return work()
        except Exception as exc:
            if not is_transient(exc, engine.dialect.name):
                raise
            if attempt == attempts:
                raise DatabaseUnavailableError(what, first_line(exc), attempts) from exc
            logger.warning(
                "database failed while %s (%s); attempt %d of %d in %g s",
                what,
                first_line(exc),
                attempt + 1,
                attempts,
                delay,
            )
            clock.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
    raise AssertionError("unreachable")  # pragma: no cover
