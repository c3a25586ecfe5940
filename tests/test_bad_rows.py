"""Bad rows end to end: recorded with reasons, good rows intact, exit 3, and `retry` after a fix."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from helpers.support import first_line_of_po
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.demo_data import (
    BAD_ROW_DUPLICATE_ORDER,
    BAD_ROW_MISSING_KEY_STYLE,
    BAD_ROW_NEGATIVE_SIZE_ORDER,
    BAD_ROW_TEXT_PRICE_ORDER,
    BAD_ROWS_PO,
)
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient, Mutation
from ordersync.push.rows import ItemCreates
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.sync import run_retry, run_sync

KEY_COLUMN = "text_mkr5wya6"
RHONE = Scope("RHONE", BAD_ROWS_PO)


def board_items(emulator: Emulator) -> dict[str, dict]:
    return {
        i["texts"][KEY_COLUMN]: i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"
    }


def test_quotes_accents_and_emoji_arrive_intact(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    scope = Scope("PELOTON")
    assert run_sync(db, config, client, scope).exit_code == 0
    items = board_items(emulator)
    source = reflect_source(db.engine, config)
    with db.engine.connect() as connection:
        rows = connection.execute(select_scope(source, config, scope)).mappings().all()
    texts = [r["NOTES"] for r in rows] + [r["STYLE DESCRIPTION"] for r in rows]
    assert any("🚀" in (t or "") for t in texts) and any('"' in (t or "") for t in texts)
    assert any("é" in (t or "") for t in texts)
    for row in rows:
        board = items[row["AAG ORDER NUMBER"]]["texts"]
        assert board["long_text_mkr5hass"] == (row["NOTES"] or "")
        assert board["long_text_mkr5p0cf"] == (row["STYLE DESCRIPTION"] or "")


def test_monday_refusal_is_per_alias(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """monday refuses one alias of a request (a value it rejects): only that row fails."""
    target = first_line_of_po(db)
    build = ItemCreates.mutation

    def corrupt_one(self: ItemCreates, alias: str, row: sa.Row) -> Mutation:
        if row.order_key == target:  # a value our checks would never let through
            bad = {**row._asdict(), "column_values": json.dumps({"numeric_mkr5cact": "abc"})}
            return build(self, alias, SimpleNamespace(**bad))  # type: ignore[arg-type]
        return build(self, alias, row)

    monkeypatch.setattr(ItemCreates, "mutation", corrupt_one)
    outcome = run_sync(db, config, client, Scope("GREYSON", "4755"))
    items = board_items(emulator)
    assert outcome.exit_code == 3
    assert target not in items and len(items) == 68  # its siblings in the request went through
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        error = connection.execute(sa.select(errors)).one()
        sub_errors = (
            connection.execute(sa.select(db.tables.subitem_errors.c.error_code).distinct())
            .scalars()
            .all()
        )
    assert (error.order_key, error.error_code, error.stage) == (
        target,
        "ColumnValueException",
        "DELIVER",
    )
    assert not error.retryable and error.http_status == 200
    assert sub_errors == ["PARENT_FAILED"]


def test_retry_delivers_fixed_rows_and_resolves_their_errors(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    first = run_sync(db, config, client, RHONE)
    assert first.exit_code == 3 and first.report is not None
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    order = table.c["AAG ORDER NUMBER"]
    with db.engine.begin() as connection:  # the planner fixes the data
        connection.execute(
            table.update()
            .where(order == BAD_ROW_TEXT_PRICE_ORDER)
            .values({"CUSTOMER PRICE": "21.00"})
        )
        connection.execute(
            table.update().where(order == BAD_ROW_NEGATIVE_SIZE_ORDER).values({"M": 12})
        )
    retried = run_retry(db, config, client)
    assert retried.retried_batch == first.report.batch_id
    items = board_items(emulator)
    assert {BAD_ROW_TEXT_PRICE_ORDER, BAD_ROW_NEGATIVE_SIZE_ORDER} <= set(items)
    assert BAD_ROW_DUPLICATE_ORDER not in items  # still duplicated: still rejected
    assert retried.resolved == 2  # TRUE price and negative size
    assert retried.still_open == 3  # missing key, duplicate key (both rows)
    assert retried.sync.exit_code == 3
    with db.engine.begin() as connection:  # fix the rest
        connection.execute(
            table.update()
            .where(table.c["CUSTOMER STYLE"] == BAD_ROW_MISSING_KEY_STYLE)
            .values({"AAG ORDER NUMBER": "RHO-99999"})
        )
        rows = (
            connection.execute(
                sa.select(table.c.record_uuid).where(order == BAD_ROW_DUPLICATE_ORDER)
            )
            .scalars()
            .all()
        )
        connection.execute(
            table.update()
            .where(table.c.record_uuid == rows[1])
            .values({"AAG ORDER NUMBER": "RHO-99998"})
        )
    final = run_retry(db, config, client)
    assert final.sync.exit_code == 0
    assert {"RHO-99999", "RHO-99998", BAD_ROW_DUPLICATE_ORDER} <= set(board_items(emulator))
