"""A dry run makes every check the real run makes (board, columns, types, labels): the same
rejections counted, the same errors raised; it only sends and writes nothing."""

from __future__ import annotations

import tomllib

import pytest
import sqlalchemy as sa

from ordersync.config import SyncConfig, parse_config
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.errors import ConfigError
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.settings import builtin_config_text
from ordersync.states import Stage
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")


def _edit(db: Database, keys: list[str], **values: object) -> None:
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c["AAG ORDER NUMBER"].in_(keys)).values(values)
        )


def _greyson_keys(db: Database, count: int) -> list[str]:
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(table.c["AAG ORDER NUMBER"])
                .where(table.c["PO NUMBER"] == "4755")
                .order_by(table.c["AAG ORDER NUMBER"])
                .limit(count)
            ).scalars()
        )


def _rejections(db: Database) -> int:
    """ERR rows a run wrote for rows it refused (a subitem failing with its item not counted)."""
    total = 0
    for table in (db.tables.item_errors, db.tables.subitem_errors):
        with db.engine.connect() as connection:
            total += connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.error_code != "PARENT_FAILED")
            ).scalar_one()
    return total


def test_a_dry_run_counts_the_rows_delivery_would_refuse_for_their_labels(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    keys = _greyson_keys(db, 6)
    _edit(db, keys[:5], **{"UNIT OF MEASURE": "BOX"})  # not a label of the board's status column
    _edit(db, keys[5:], **{"CUSTOMER PRICE": "18,50"})  # rejected at planning

    dry = run_sync(db, config, client, GREYSON, dry_run=True)

    assert dry.plan.rejected == 6 and dry.exit_code == 3
    assert emulator.stats.mutations == {}
    with db.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).select_from(db.tables.item_errors)
            ).scalar_one()
            == 0
        )  # a dry run writes nothing

    real = run_sync(db, config, client, GREYSON)
    assert real.exit_code == 3 and real.report is not None
    assert _rejections(db) == dry.plan.rejected
    with db.engine.connect() as connection:
        stages = dict(
            connection.execute(
                sa.select(db.tables.item_errors.c.order_key, db.tables.item_errors.c.stage)
            ).all()
        )
    assert stages == {**dict.fromkeys(keys[:5], Stage.DELIVER), keys[5]: Stage.PLAN}


def test_a_dry_run_counts_unknown_size_labels(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    board = emulator.store.boards[str(CMS_SUBITEMS_BOARD_ID)]
    size_column = board.columns[config.subitems.size_column_id]
    dropped = sorted(_sizes_used(db, config))[:2]  # two sizes the board no longer offers
    size_column.settings["labels"] = [
        label
        for label in size_column.settings["labels"]
        if (label.get("label") or label.get("name")) not in dropped
    ]
    strict = _config(size_labels_create_if_missing=False)

    dry = run_sync(db, strict, client, GREYSON, dry_run=True)
    real = run_sync(db, strict, client, GREYSON)

    assert dry.plan.rejected > 0 and dry.exit_code == real.exit_code == 3
    assert _rejections(db) == dry.plan.rejected


def _sizes_used(db: Database, config: SyncConfig) -> set[str]:
    from ordersync.push.source import reflect_source, select_scope

    source = reflect_source(db.engine, config)
    with db.engine.connect() as connection:
        rows = connection.execute(select_scope(source, config, GREYSON)).mappings().all()
    return {size for row in rows for size in source.size_columns if row[size]}


def _config(**subitems: object) -> SyncConfig:
    data = tomllib.loads(builtin_config_text())
    data.setdefault("subitems", {}).update(subitems)
    return parse_config(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('column_id = "text_mkr5ej2x"', 'column_id = "text_typo0000"'), "text_typo0000 is not on"),
        (
            (
                'column_id = "numeric_mkr5cact"\ntype = "numbers"',
                'column_id = "numeric_mkr5cact"\ntype = "text"',
            ),
            "numeric_mkr5cact on board 4755559751 is numbers, configured as text",
        ),
    ],
)
def test_a_typo_in_a_column_id_fails_the_dry_run_as_it_fails_the_run(
    db: Database,
    client: MondayClient,
    emulator: Emulator,
    change: tuple[str, str],
    message: str,
) -> None:
    assert change[0] in builtin_config_text()
    broken = parse_config(tomllib.loads(builtin_config_text().replace(*change)))
    with pytest.raises(ConfigError) as dry:
        run_sync(db, broken, client, GREYSON, dry_run=True)
    with pytest.raises(ConfigError) as real:
        run_sync(db, broken, client, GREYSON)
    assert message in str(dry.value) and str(dry.value) == str(real.value)
    assert emulator.stats.mutations == {}


def test_a_missing_board_fails_the_dry_run_as_it_fails_the_run(
    db: Database, client: MondayClient, emulator: Emulator
) -> None:
    text = builtin_config_text().replace(f"items_board_id = {CMS_BOARD_ID}", "items_board_id = 42")
    broken = parse_config(tomllib.loads(text))
    with pytest.raises(ConfigError) as dry:
        run_sync(db, broken, client, GREYSON, dry_run=True)
    with pytest.raises(ConfigError) as real:
        run_sync(db, broken, client, GREYSON)
    assert "board 42 is not on monday" in str(dry.value) and str(dry.value) == str(real.value)
