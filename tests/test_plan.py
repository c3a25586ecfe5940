"""plan: NEW order lines of a scope staged in one transaction; bad rows recorded, not dropped."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import (
    BAD_ROW_DUPLICATE_ORDER,
    BAD_ROW_NEGATIVE_SIZE_ORDER,
    BAD_ROW_TEXT_PRICE_ORDER,
    BAD_ROWS_CLEAN_ORDERS,
    BAD_ROWS_PO,
)
from ordersync.errors import ConfigError, SourceError
from ordersync.push.plan import StagedIds, plan_batch
from ordersync.push.source import Scope
from ordersync.states import BatchStatus


def _count(db: Database, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(table).where(*where)
        ).scalar_one()


def test_greyson_po_4755_stages_69_items_and_264_subitems(db: Database, config: SyncConfig) -> None:
    result = plan_batch(db, config, Scope("GREYSON", "4755"))
    assert (result.items, result.subitems, result.rejected) == (69, 264, 0)
    t = db.tables
    assert _count(db, t.staged_items, t.staged_items.c.batch_id == result.batch_id) == 69
    assert _count(db, t.staged_subitems, t.staged_subitems.c.batch_id == result.batch_id) == 264
    with db.engine.connect() as connection:
        batch = connection.execute(
            sa.select(t.batches).where(t.batches.c.batch_id == result.batch_id)
        ).one()
        orphans = connection.execute(
            sa.select(sa.func.count())
            .select_from(t.staged_subitems)
            .outerjoin(t.staged_items, t.staged_items.c.stg_id == t.staged_subitems.c.parent_stg_id)
            .where(t.staged_items.c.stg_id.is_(None))
        ).scalar_one()
        sizes = connection.execute(
            sa.select(
                t.staged_subitems.c.size_label,
                t.staged_subitems.c.qty,
                t.staged_subitems.c.column_values,
            )
        ).all()
    assert batch.status == BatchStatus.STAGED
    assert (batch.planned_items, batch.planned_subitems) == (69, 264)
    assert batch.customer == "GREYSON" and batch.po_number == "4755"
    assert orphans == 0  # every subitem links to its parent by UUID
    for size, qty, values in sizes:
        assert qty > 0
        assert json.loads(values) == {
            "dropdown_mkrak7qp": {"labels": [size]},
            "numeric_mkra7j8e": str(qty),
        }


def test_source_sizes_match_staged_sizes(db: Database, config: SyncConfig) -> None:
    """Every non-zero size cell of the source becomes exactly one staged subitem."""
    plan_batch(db, config, Scope("GREYSON", "4755"))
    from ordersync.push.source import reflect_source, select_scope

    source = reflect_source(db.engine, config)
    expected = set()
    with db.engine.connect() as connection:
        for row in connection.execute(
            select_scope(source, config, Scope("GREYSON", "4755"))
        ).mappings():
            for size in source.size_columns:
                if row[size]:
                    expected.add((row["AAG ORDER NUMBER"], size, row[size]))
        staged = set(
            connection.execute(
                sa.select(
                    db.tables.staged_subitems.c.order_key,
                    db.tables.staged_subitems.c.size_label,
                    db.tables.staged_subitems.c.qty,
                )
            ).all()
        )
    assert len(expected) == 264
    assert staged == expected


def test_an_alias_selects_the_same_lines(db: Database, config: SyncConfig) -> None:
    by_alias = plan_batch(db, config, Scope("GREYSON CLOTHIERS", "4755"), dry_run=True)
    by_name = plan_batch(db, config, Scope("greyson", "4755"), dry_run=True)
    assert (by_alias.items, by_alias.subitems) == (by_name.items, by_name.subitems) == (69, 264)
    assert [c.order_key for c in by_alias.preview] == [c.order_key for c in by_name.preview]


def test_dry_run_writes_nothing(db: Database, config: SyncConfig) -> None:
    result = plan_batch(db, config, Scope("RHONE", BAD_ROWS_PO), dry_run=True)
    assert result.batch_id is None and result.rejected == 5
    for table in db.tables.metadata.sorted_tables:
        assert _count(db, table) == 0, table.name


def test_limit_caps_new_lines(db: Database, config: SyncConfig) -> None:
    result = plan_batch(db, config, Scope("GREYSON", "4755"), limit=5)
    assert result.items == 5
    assert _count(db, db.tables.staged_items) == 5


def test_bad_rows_are_recorded_with_reasons(db: Database, config: SyncConfig) -> None:
    result = plan_batch(db, config, Scope("RHONE", BAD_ROWS_PO))
    assert result.rejected == 5  # missing key, TRUE price, duplicate (both rows), negative size
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(errors)).all()
        staged = set(connection.execute(sa.select(db.tables.staged_items.c.order_key)).scalars())
    by_code: dict[str, list[sa.Row]] = {}
    for row in rows:
        by_code.setdefault(row.error_code, []).append(row)
    assert sorted(by_code) == [
        "DUPLICATE_KEY",
        "INVALID_NUMBER",
        "MISSING_KEY",
        "NEGATIVE_QUANTITY",
    ]
    assert [r.order_key for r in by_code["DUPLICATE_KEY"]] == [BAD_ROW_DUPLICATE_ORDER] * 2
    assert by_code["INVALID_NUMBER"][0].order_key == BAD_ROW_TEXT_PRICE_ORDER
    assert json.loads(by_code["INVALID_NUMBER"][0].payload)["CUSTOMER PRICE"] == "TRUE"
    assert by_code["NEGATIVE_QUANTITY"][0].order_key == BAD_ROW_NEGATIVE_SIZE_ORDER
    assert "RHM9003" in by_code["MISSING_KEY"][0].message  # a planner can find the row
    assert all(r.batch_id == result.batch_id and r.stage == "PLAN" for r in rows)
    assert staged == set(BAD_ROWS_CLEAN_ORDERS)  # the good rows still go through


def test_a_missing_source_table_is_a_clear_error(sqlite_url: str, config: SyncConfig) -> None:
    database = Database.connect(sqlite_url)
    upgrade(database.engine)
    with pytest.raises(SourceError, match="ordersync demo-data"):
        plan_batch(database, config, Scope("GREYSON", "4755"))
    database.engine.dispose()


def test_a_column_missing_from_the_source_is_a_config_error(
    db: Database, config: SyncConfig
) -> None:
    columns = [
        *config.items.columns,
        config.items.columns[0].model_copy(update={"source": "NOPE", "column_id": "x"}),
    ]
    broken = config.model_copy(
        update={"items": config.items.model_copy(update={"columns": columns})}
    )
    with pytest.raises(ConfigError, match="NOPE"):
        plan_batch(db, broken, Scope("GREYSON", "4755"))


def test_staged_ids_sort_in_the_order_rows_are_staged(db: Database, config: SyncConfig) -> None:
    """Items are staged in key order: their ids sort the same way, and each item's subitems
    sort right after the item's earlier siblings' (their parent's first 24 characters, then
    their size position). The staged tables' indexes take every row at their end."""
    first = plan_batch(db, config, Scope("GREYSON", "4755"))
    t = db.tables
    with db.engine.connect() as connection:
        items = (
            connection.execute(
                sa.select(t.staged_items.c.stg_id)
                .where(t.staged_items.c.batch_id == first.batch_id)
                .order_by(t.staged_items.c.order_key)
            )
            .scalars()
            .all()
        )
        subitems = connection.execute(
            sa.select(t.staged_subitems.c.stg_id, t.staged_subitems.c.parent_stg_id).where(
                t.staged_subitems.c.batch_id == first.batch_id
            )
        ).all()
    assert len(items) == 69 and items == sorted(items)
    assert {len(stg_id) for stg_id in items} == {36}
    place = {stg_id: n for n, stg_id in enumerate(items)}
    by_id = sorted(subitems)
    assert [place[parent] for _, parent in by_id] == sorted(place[p] for _, p in subitems)
    assert all(stg_id[:24] == parent[:24] for stg_id, parent in subitems)
    ids = StagedIds(str(uuid.uuid4())), StagedIds(str(uuid.uuid4()))
    assert ids[0].next()[:24] != ids[1].next()[:24]  # another batch: other ids
