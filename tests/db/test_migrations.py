"""Migrations build exactly the tables the code describes, on SQLite and PostgreSQL, and every
table compiles for SQL Server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mssql, postgresql, sqlite

from ordersync.db import Database, build_tables
from ordersync.db.migrate import (
    VERSION_TABLE,
    _alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from ordersync.settings import TablesConfig


def test_upgrade_builds_the_described_schema(db_url: str) -> None:
    db = Database.connect(db_url)
    assert current_revision(db.engine) is None
    assert upgrade(db.engine) == head_revision()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, db.tables.metadata)
    assert diff == []
    assert upgrade(db.engine) == head_revision()  # a second run changes nothing
    db.engine.dispose()


def test_table_names_come_from_configuration(sqlite_url: str) -> None:
    names = TablesConfig(batches="ACME_Batches", journal="ACME_Journal")
    db = Database.connect(sqlite_url, names)
    upgrade(db.engine, names)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"ACME_Batches", "ACME_Journal", "STG_MON_CustMasterSchedule"} <= tables
    assert "MON_BatchProcessing" not in tables
    db.engine.dispose()


@pytest.mark.parametrize("dialect", [mssql.dialect(), postgresql.dialect(), sqlite.dialect()])
def test_every_table_compiles(dialect: sa.Dialect) -> None:
    for table in build_tables().metadata.sorted_tables:
        ddl = str(sa.schema.CreateTable(table).compile(dialect=dialect))
        assert table.name in ddl
        for index in table.indexes:
            assert str(sa.schema.CreateIndex(index).compile(dialect=dialect))


def test_sql_server_types() -> None:
    ddl = str(sa.schema.CreateTable(build_tables().items).compile(dialect=mssql.dialect()))
    assert "order_key NVARCHAR(450) NOT NULL" in ddl
    assert "monday_item_id BIGINT NOT NULL" in ddl
    assert "column_values NVARCHAR(max)" in ddl


def test_an_existing_database_upgrades_in_place(db_url: str) -> None:
    db = Database.connect(db_url)
    upgrade(db.engine, revision="0001")
    batches = sa.Table("MON_BatchProcessing", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection:
        connection.execute(
            batches.insert().values(
                batch_id="b1",
                board_id=1,
                mode="test",
                status="BATCH_COMPLETED",
                created_at=sa.func.current_timestamp(),
            )
        )
    assert upgrade(db.engine) == head_revision()
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(db.tables.batches)).one()
    assert row.batch_id == "b1" and row.planned_item_updates == 0
    db.engine.dispose()


def _prefixed(prefix: str) -> TablesConfig:
    return TablesConfig(**{key: f"{prefix}{name}" for key, name in TablesConfig().names().items()})


def test_custom_table_sets_have_their_own_version(db_url: str) -> None:
    db = Database.connect(db_url)
    upgrade(db.engine)  # the default set
    for names in (_prefixed("B2_"), _prefixed("B3_")):
        assert upgrade(db.engine, names) == head_revision()
        assert current_revision(db.engine, names) == head_revision()
        assert names.batches in sa.inspect(db.engine).get_table_names()
        assert upgrade(db.engine, names) == head_revision()  # again: nothing to do
    assert current_revision(db.engine) == head_revision()
    db.engine.dispose()


def test_a_custom_set_recorded_in_the_shared_version_table_is_upgraded_in_place(
    db_url: str,
) -> None:
    """An older ordersync kept one version table for every set: a custom set created first
    was recorded there. Its tables are adopted at that revision, not created again."""
    db = Database.connect(db_url)
    names = _prefixed("OLD_")
    with db.engine.begin() as connection:  # what the older init-db left behind
        config = _alembic_config(connection, names)
        config.attributes["version_table"] = VERSION_TABLE
        command.upgrade(config, "0002")
    assert upgrade(db.engine, names) == head_revision()  # not "table already exists"
    assert current_revision(db.engine, names) == head_revision()
    db.engine.dispose()
