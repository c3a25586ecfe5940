"""Migrations build exactly the tables the code describes, on SQLite and PostgreSQL, and every
table compiles for SQL Server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mssql, postgresql, sqlite

from ordersync.config import TablesConfig
from ordersync.db import Database, build_tables
from ordersync.db.migrate import VERSION_TABLE, current_revision, head_revision, upgrade


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
