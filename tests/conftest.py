"""Shared fixtures: databases (SQLite file and a PostgreSQL schema per test), the built-in
configuration, and the monday emulator with a client wired to it in-process.

PostgreSQL tests use ``ORDERSYNC_TEST_PG_URL`` (default: the local server). Where no server
answers they skip with a reason, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersync.clock import ManualClock
from ordersync.config import SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from support import IN_CI, PG_URL, demo_database


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not available here"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


_PG_PROBLEM = _postgres_available()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    message = f"PostgreSQL at {PG_URL} is not available ({_PG_PROBLEM})"
    if IN_CI:
        pytest.fail(message + "; under CI=true PostgreSQL tests must run")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ordersync.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def config() -> SyncConfig:
    """The built-in Customer Master Schedule configuration."""
    return load_builtin_config()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """ordersync's tables and the demo ORDERS_UNIFIED (GREYSON PO 4755 and friends)."""
    database = demo_database(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    """A fresh monday (board 4755559751 seeded) on the test's clock."""
    return Emulator(clock=clock, seed=True)


@pytest.fixture
def client(emulator: Emulator, clock: ManualClock) -> Iterator[MondayClient]:
    """The real client, talking to the emulator in-process."""
    with MondayClient(
        "http://emulator.test/v2", "test-token", transport=emulator.transport(), clock=clock
    ) as monday:
        yield monday
