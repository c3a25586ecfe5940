"""Test helpers shared across the suite (importable as ``helpers.support``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table, fill_demo_orders

PG_URL = os.environ.get(
    "ORDERSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"
SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_SCHEMA = SHARED / "monday" / "schema.graphql"


def require_shared(path: Path) -> None:
    """Skip when a file of ../shared is absent (a clone elsewhere); fail under CI."""
    if path.exists():
        return
    if IN_CI:
        pytest.fail(f"{path} is missing; under CI=true it must be present")
    pytest.skip(f"{path} not present (clone outside the workspace)")


@functools.cache
def postgres_problem() -> str | None:
    """Why the PostgreSQL server at ``PG_URL`` cannot be used (asked once), or None."""
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not available here"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def require_postgres() -> None:
    """Skip when PostgreSQL is not available; under ``CI=true`` fail instead."""
    problem = postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL at {PG_URL} is not available ({problem})"
    if IN_CI:
        pytest.fail(message + "; under CI=true PostgreSQL tests must run")
    pytest.skip(message)


def backend_of(request: pytest.FixtureRequest) -> str:
    """A fixture's ``"sqlite"``/``"postgres"`` parameter (PostgreSQL required for the latter)."""
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


def demo_database(url: str) -> Database:
    """ordersync's tables and the demo ``ORDERS_UNIFIED`` in the database at ``url``."""
    database = Database.connect(url)
    upgrade(database.engine)
    fill_demo_orders(database.engine, create_source_table(database.engine))
    return database


def first_line_of_po(db: Database, po: str = "4755", **values: object) -> str:
    """The order number of PO ``po``'s first source line; ``values`` (source column → value,
    e.g. ``**{"UNIT OF MEASURE": "BOX"}``) written into it first."""
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    order = table.c["AAG ORDER NUMBER"]
    with db.engine.begin() as connection:
        target = connection.execute(
            sa.select(order).where(table.c["PO NUMBER"] == po).limit(1)
        ).scalar_one()
        if values:
            connection.execute(table.update().where(order == target).values(values))
    return str(target)
