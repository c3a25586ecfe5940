"""Migration 0008: the scan table (per-plan scratch) is UNLOGGED on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from ordersync.db import Database
from ordersync.db.migrate import head_revision, upgrade


def persistence(db: Database) -> str:
    """``p``: a permanent (WAL-logged) table; ``u``: unlogged."""
    query = sa.text("SELECT relpersistence FROM pg_class WHERE oid = quote_ident(:table)::regclass")
    with db.engine.connect() as connection:
        return str(connection.execute(query, {"table": db.tables.scan.name}).scalar_one())


def test_the_scan_table_is_unlogged_on_postgresql(pg_url: str) -> None:
    db = Database.connect(pg_url)
    upgrade(db.engine, revision="0007")
    assert persistence(db) == "p"
    assert upgrade(db.engine) == head_revision()
    assert persistence(db) == "u"
    db.engine.dispose()


def test_other_databases_keep_their_scan_table(sqlite_url: str) -> None:
    db = Database.connect(sqlite_url)
    assert upgrade(db.engine) == head_revision()
    with db.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(db.tables.scan)).scalar_one()
            == 0
        )
    db.engine.dispose()
