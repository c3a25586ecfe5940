"""Test helpers shared across the suite (importable as ``support``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table, fill_demo_orders

PG_URL = os.environ.get(
    "ORDERSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_SCHEMA = SHARED / "monday" / "schema.graphql"


def require_shared(path: Path) -> None:
    """Skip when a file of ../shared is absent (a clone elsewhere); fail under CI."""
    if path.exists():
        return
    if IN_CI:
        pytest.fail(f"{path} is missing; under CI=true it must be present")
    pytest.skip(f"{path} not present (clone outside the workspace)")


def demo_database(url: str) -> Database:
    """ordersync's tables and the demo ``ORDERS_UNIFIED`` in the database at ``url``."""
    database = Database.connect(url)
    upgrade(database.engine)
    fill_demo_orders(database.engine, create_source_table(database.engine))
    return database
