"""sync end to end against the emulator, on SQLite and PostgreSQL: GREYSON PO 4755 → 69 items
and 264 subitems, exactly once."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from helpers.support import demo_database, first_line_of_po
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.db.tables import BATCH_STAGE_TIMESTAMPS
from ordersync.demo_data import (
    BAD_ROWS_CLEAN_ORDERS,
    BAD_ROWS_PO,
)
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Fault
from ordersync.errors import LockedError
from ordersync.monday import MondayClient
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.states import BatchStatus
from ordersync.sync import run_sync

KEY_COLUMN, SIZE_COLUMN, QTY_COLUMN = "text_mkr5wya6", "dropdown_mkrak7qp", "numeric_mkra7j8e"
GREYSON = Scope("GREYSON", "4755")


def board_state(emulator: Emulator) -> tuple[dict[str, dict], dict[tuple[str, str], str]]:
    """Items by key, and (key, size) → Order Qty text of their subitems."""
    items = {
        i["texts"][KEY_COLUMN]: i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"
    }
    key_of = {i["id"]: key for key, i in items.items()}
    subitems: dict[tuple[str, str], str] = {}
    for sub in emulator.items(CMS_SUBITEMS_BOARD_ID):
        if sub["state"] != "active":
            continue
        pair = (key_of[sub["parent_id"]], sub["texts"][SIZE_COLUMN])
        assert pair not in subitems, f"duplicate subitem {pair}"
        subitems[pair] = sub["texts"][QTY_COLUMN]
    return items, subitems


def source_sizes(db: Database, config: SyncConfig, scope: Scope) -> dict[tuple[str, str], str]:
    source = reflect_source(db.engine, config)
    expected = {}
    with db.engine.connect() as connection:
        for row in connection.execute(select_scope(source, config, scope)).mappings():
            for size in source.size_columns:
                if row[size]:
                    expected[(row["AAG ORDER NUMBER"], size)] = str(row[size])
    return expected


def count(db: Database, table: sa.Table) -> int:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_greyson_po_4755_reaches_the_board(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    outcome = run_sync(db, config, client, GREYSON)

    assert outcome.status == BatchStatus.BATCH_COMPLETED and outcome.exit_code == 0
    report = outcome.report
    assert report is not None
    assert (report.items_created, report.subitems_created, report.rows_rejected) == (69, 264, 0)
    items, subitems = board_state(emulator)
    assert len(items) == 69
    assert subitems == source_sizes(db, config, GREYSON)
    assert len(subitems) == 264
    assert all(i["group_title"].startswith("GREYSON ") for i in items.values())
    t = db.tables
    assert count(db, t.staged_subitems) == count(db, t.subitems) == 264
    assert count(db, t.items) == 69
    stamps = [getattr(report, name) for name in BATCH_STAGE_TIMESTAMPS]
    assert all(stamps) and stamps == sorted(stamps)
    assert outcome.requests <= 20
    with db.engine.connect() as connection:
        mirror = {r.order_key: r.monday_item_id for r in connection.execute(sa.select(t.items))}
        journal = connection.execute(sa.select(t.journal.c.state)).scalars().all()
    assert mirror == {key: int(item["id"]) for key, item in items.items()}
    assert journal and set(journal) == {"DONE"}


def test_item_values_arrive_intact(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    run_sync(db, config, client, GREYSON)
    items, _ = board_state(emulator)
    source = reflect_source(db.engine, config)
    with db.engine.connect() as connection:
        rows = connection.execute(select_scope(source, config, GREYSON)).mappings().all()
    for row in rows:
        item = items[row["AAG ORDER NUMBER"]]
        name = [row["CUSTOMER STYLE"], row["CUSTOMER COLOUR DESCRIPTION"], row["AAG ORDER NUMBER"]]
        assert item["name"] == "".join(name)
        texts = item["texts"]
        assert texts["dropdown_mkr542p2"] == "GREYSON"
        assert texts["dropdown_mkr518fc"] == "RECEIVED"
        assert Decimal(texts["numeric_mkr5cact"]) == Decimal(row["CUSTOMER PRICE"])
        assert texts["date_mkr57811"] == str(row["EX FACTORY DATE"])  # SQLite: read as text
        assert texts["long_text_mkr5p0cf"] == (row["STYLE DESCRIPTION"] or "")


def test_a_second_run_sends_no_mutation(
    synced: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    db = synced  # after a first sync of GREYSON PO 4755
    for scope in (GREYSON, Scope("GREYSON CLOTHIERS", "4755")):
        outcome = run_sync(db, config, client, scope)
        assert outcome.status == "NO_CHANGES" and outcome.exit_code == 0
        assert outcome.plan.unchanged == 69
    assert sum(emulator.stats.mutations.values()) == 0
    assert len(board_state(emulator)[1]) == 264


def test_dry_run_sends_nothing_and_writes_nothing(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    outcome = run_sync(db, config, client, GREYSON, dry_run=True)
    assert outcome.status == "DRY_RUN" and outcome.exit_code == 0
    assert (outcome.plan.items, outcome.plan.subitems) == (69, 264)
    assert emulator.stats.mutations == {}  # the board is read (every check), nothing sent
    assert count(db, db.tables.batches) == 0 and count(db, db.tables.staged_items) == 0


def test_bad_rows_complete_with_errors_and_good_rows_arrive(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    outcome = run_sync(db, config, client, Scope("RHONE", BAD_ROWS_PO))
    assert outcome.status == BatchStatus.COMPLETED_WITH_ERRORS and outcome.exit_code == 3
    items, subitems = board_state(emulator)
    assert set(items) == set(BAD_ROWS_CLEAN_ORDERS)
    expected = {
        k: v
        for k, v in source_sizes(db, config, Scope("RHONE", BAD_ROWS_PO)).items()
        if k[0] in BAD_ROWS_CLEAN_ORDERS
    }
    assert subitems == expected
    assert count(db, db.tables.item_errors) == 5


def test_a_label_the_board_lacks_is_rejected_not_created(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    target = first_line_of_po(db, **{"UNIT OF MEASURE": "BOX"})
    outcome = run_sync(db, config, client, GREYSON)
    assert outcome.exit_code == 3
    items, _ = board_state(emulator)
    assert target not in items and len(items) == 68
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        error = connection.execute(sa.select(errors)).one()
    assert (error.order_key, error.error_code, error.stage) == (target, "UNKNOWN_LABEL", "DELIVER")
    assert "BOX" in error.message and json.loads(error.payload)["item_name"].endswith(target)
    sub_errors = count(db, db.tables.subitem_errors)
    assert sub_errors == sum(1 for k in source_sizes(db, config, GREYSON) if k[0] == target)


def test_a_lost_answer_is_resolved_without_duplicates(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="lost_response", match="create_item", times=1))
    emulator.inject(Fault(kind="lost_response", match="create_subitem", times=1))
    outcome = run_sync(db, config, client, GREYSON)
    assert outcome.status == BatchStatus.BATCH_COMPLETED
    items, subitems = board_state(emulator)
    assert len(items) == 69 and subitems == source_sizes(db, config, GREYSON)


def test_items_already_on_the_board_are_adopted(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    run_sync(db, config, client, GREYSON)
    for table in (db.tables.items, db.tables.subitems):  # forget everything ordersync knew
        with db.engine.begin() as connection:
            connection.execute(table.delete())
    emulator.reset_stats()
    outcome = run_sync(db, config, client, GREYSON)
    assert outcome.report is not None
    assert (outcome.report.items_adopted, outcome.report.subitems_adopted) == (69, 264)
    assert emulator.stats.mutations.get("create_item", 0) == 0
    assert emulator.stats.mutations.get("create_subitem", 0) == 0
    assert len(board_state(emulator)[1]) == 264


def test_a_second_run_on_the_same_board_is_refused(
    db: Database, config: SyncConfig, client: MondayClient
) -> None:
    with board_lock(db.engine, db.tables.locks, CMS_BOARD_ID):
        with pytest.raises(LockedError, match=r"board \d+ is busy: ordersync \w+ on host"):
            run_sync(db, config, client, GREYSON)
    assert run_sync(db, config, client, GREYSON).exit_code == 0


def test_every_statement_compiles_for_sql_server(
    sqlite_url: str, config: SyncConfig, client: MondayClient
) -> None:
    """Capture every statement a full sync issues and compile it for mssql.

    (On SQLite, whose reflection runs PRAGMAs rather than catalog SELECTs, so what is captured
    is ordersync's own statements.)
    """
    from sqlalchemy.dialects import mssql

    db = demo_database(sqlite_url)
    seen: list[sa.ClauseElement] = []

    def capture(conn, clauseelement, multiparams, params, execution_options):  # type: ignore[no-untyped-def]
        seen.append(clauseelement)

    sa.event.listen(db.engine, "before_execute", capture)
    run_sync(db, config, client, Scope("RHONE", BAD_ROWS_PO))
    run_sync(db, config, client, GREYSON)
    sa.event.remove(db.engine, "before_execute", capture)
    kinds = Counter(type(s).__name__ for s in seen)
    assert kinds["Select"] and kinds["Insert"] and kinds["Update"] and kinds["Delete"]
    for statement in seen:
        if isinstance(statement, sa.ClauseElement):
            assert str(statement.compile(dialect=mssql.dialect()))
    db.engine.dispose()
