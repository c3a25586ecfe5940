"""PostgreSQL test databases as schemas of the one test database: a fresh schema per test, and
a copy of a template schema (``copy_schema``) for tests that start from a prepared state.

Schemas, not databases: ``DROP DATABASE`` forces a checkpoint, which on a shared, loaded
server can take minutes; ``DROP SCHEMA … CASCADE`` does not."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from helpers.support import PG_URL
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table


def admin_engine() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def new_schema(prefix: str = "t") -> str:
    """A new, empty schema's name (created)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    return name


def drop_schema(name: str) -> None:
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def schema_url(name: str) -> str:
    """A URL of the test database whose search_path is schema ``name``."""
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{name}"


def copy_schema(template: str) -> str:
    """A new schema holding what schema ``template`` holds: ordersync's tables made by the
    migrations and the source table made by ``create_source_table`` (so names, indexes and
    sequences are the ones a real database has), then every table's rows and every sequence's
    position copied from the template. Returns the new schema's name."""
    name = new_schema()
    database = Database.connect(schema_url(name))
    try:
        upgrade(database.engine)
        create_source_table(database.engine)
    finally:
        database.engine.dispose()
    admin = admin_engine()
    with admin.begin() as connection:
        _copy_rows(connection, template, name)
    admin.dispose()
    return name


def _copy_rows(connection: sa.Connection, source: str, target: str) -> None:
    quote = connection.dialect.identifier_preparer.quote
    tables = sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY 1")
    names = connection.execute(tables, {"schema": source}).scalars().all()
    made = connection.execute(tables, {"schema": target}).scalars().all()
    assert names == made, f"template tables {names} != migrated tables {made}"
    for table in names:
        into, out_of = f"{quote(target)}.{quote(table)}", f"{quote(source)}.{quote(table)}"
        connection.execute(sa.text(f"DELETE FROM {into}"))  # the migrations' version row
        connection.execute(sa.text(f"INSERT INTO {into} SELECT * FROM {out_of}"))
    sequences = sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema")
    for sequence in connection.execute(sequences, {"schema": source}).scalars().all():
        old = f"{quote(source)}.{quote(sequence)}"
        last, called = connection.execute(sa.text(f"SELECT last_value, is_called FROM {old}")).one()
        connection.execute(
            sa.text("SELECT setval(CAST(:sequence AS regclass), :last, :called)"),
            {"sequence": f"{quote(target)}.{quote(sequence)}", "last": last, "called": called},
        )
