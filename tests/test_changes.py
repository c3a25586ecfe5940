"""Phase 2 change detection end to end: MODIFIED, DELETED and size changes reach the board with
one mutation per change, only inside the run's scope; a further sync sends nothing."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from helpers.board_check import assert_board_matches_source
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.states import BatchStatus
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")


def source(db: Database) -> sa.Table:
    return sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)


def greyson_lines(db: Database, n: int) -> list[sa.Row]:
    table = source(db)
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(table)
                .where(table.c["PO NUMBER"] == "4755", table.c["CUSTOMER NAME"].like("GREYSON%"))
                .order_by(table.c["AAG ORDER NUMBER"])
                .limit(n)
            ).all()
        )


def edit(db: Database, key: str, **values: object) -> None:
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.update().where(table.c["AAG ORDER NUMBER"] == key).values(values))


def sizes_of(row: sa.Row, sizes: tuple[str, ...]) -> dict[str, int]:
    return {s: row._mapping[s] for s in sizes if row._mapping[s]}


@pytest.fixture
def db(synced: Database) -> Database:
    """Every test here starts from GREYSON PO 4755 synced (``synced``: the database and the
    board, a copy of the session's template), then changes the source."""
    return synced


def test_every_kind_of_change_reaches_the_board_once(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    from ordersync.push.source import reflect_source

    size_columns = reflect_source(db.engine, config).size_columns
    lines = greyson_lines(db, 6)
    multi = next(r for r in lines if len(sizes_of(r, size_columns)) >= 2)
    others = [r for r in lines if r is not multi]
    filled = sizes_of(multi, size_columns)
    changed_size, zeroed_size = list(filled)[:2]
    new_size = next(s for s in ("XXXL", "ONE SIZE", "2T") if s not in filled)
    edit(
        db,
        multi._mapping["AAG ORDER NUMBER"],
        **{changed_size: filled[changed_size] + 6, zeroed_size: 0, new_size: 36},
    )
    deleted = others[0]._mapping["AAG ORDER NUMBER"]
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c["AAG ORDER NUMBER"] == deleted))
    edit(db, others[1]._mapping["AAG ORDER NUMBER"], **{"NOTES": 'Re-cut "B" lot — café'})
    edit(db, others[2]._mapping["AAG ORDER NUMBER"], **{"EX FACTORY DATE": date(2026, 2, 14)})

    emulator.reset_stats()
    outcome = run_sync(db, config, client, GREYSON)
    assert outcome.status == BatchStatus.BATCH_COMPLETED and outcome.exit_code == 0
    plan = outcome.plan
    assert (plan.items, plan.item_updates, plan.item_archives) == (0, 2, 1)
    assert (plan.subitems, plan.subitem_updates, plan.subitem_archives) == (1, 1, 1)
    assert dict(emulator.stats.mutations) == {
        "change_multiple_column_values": 3,  # a quantity, a text, a date
        "archive_item": 2,  # the deleted line, the zeroed size
        "create_subitem": 1,  # the added size
    }
    assert_board_matches_source(db, config, emulator, GREYSON)
    report = outcome.report
    assert report is not None
    assert (report.items_updated, report.items_archived) == (2, 1)
    assert (report.subitems_created, report.subitems_updated, report.subitems_archived) == (1, 1, 1)

    emulator.reset_stats()
    again = run_sync(db, config, client, GREYSON)
    assert again.status == "NO_CHANGES" and sum(emulator.stats.mutations.values()) == 0


def test_a_cleared_value_is_cleared_on_the_board(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    key = greyson_lines(db, 1)[0]._mapping["AAG ORDER NUMBER"]
    edit(db, key, **{"NOTES": None, "CUSTOMER PRICE": "nan"})
    emulator.reset_stats()
    run_sync(db, config, client, GREYSON)
    assert dict(emulator.stats.mutations) == {"change_multiple_column_values": 1}
    assert_board_matches_source(db, config, emulator, GREYSON)


def test_cancelled_lines_follow_the_rule(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    first, second = (r._mapping["AAG ORDER NUMBER"] for r in greyson_lines(db, 2))
    edit(db, first, **{"ORDER TYPE": "CANCELLED"})
    run_sync(db, config, client, GREYSON)  # default rule: update ORDER TYPE, keep the item
    items = {i["texts"]["text_mkr5wya6"]: i for i in emulator.items(CMS_BOARD_ID)}
    assert items[first]["state"] == "active"
    assert items[first]["texts"]["dropdown_mkr518fc"] == "CANCELLED"

    archive = config.model_copy(
        update={
            "items": config.items.model_copy(
                update={
                    "cancelled": config.items.cancelled.model_copy(update={"action": "archive"})
                }
            )
        }
    )
    edit(db, second, **{"ORDER TYPE": "CANCELLED"})
    outcome = run_sync(db, archive, client, GREYSON)
    assert outcome.plan.item_archives == 2  # both cancelled lines
    states = {i["texts"]["text_mkr5wya6"]: i["state"] for i in emulator.items(CMS_BOARD_ID)}
    assert states[first] == states[second] == "archived"


def test_a_run_never_archives_outside_its_scope(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    run_sync(db, config, client, Scope("TRACK SMITH", "4755"))  # same PO, another customer
    before = {i["id"] for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"}
    emulator.reset_stats()
    for scope in (Scope("GREYSON", "9999"), Scope("RHONE"), Scope("TRACK SMITH", "1")):
        run_sync(db, config, client, scope)
    assert emulator.stats.mutations.get("archive_item", 0) == 0
    assert before <= {i["id"] for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"}


@pytest.mark.parametrize(
    "other", [Scope("GREYSON", "9999"), Scope("GREYSON", season="NO SUCH SEASON")], ids=str
)
def test_a_line_deleted_from_another_po_waits_for_its_own_scope(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator, other: Scope
) -> None:
    """A line of PO 4755 gone from the source is not archived by a sync of the same
    customer's other PO or season (nothing says where it went: only its own scope may)."""
    key = greyson_lines(db, 1)[0]._mapping["AAG ORDER NUMBER"]
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c["AAG ORDER NUMBER"] == key))
    emulator.reset_stats()
    run_sync(db, config, client, other)
    assert emulator.stats.mutations.get("archive_item", 0) == 0
    run_sync(db, config, client, GREYSON)
    assert emulator.stats.mutations.get("archive_item", 0) == 1
    (item,) = [i for i in emulator.items(CMS_BOARD_ID) if i["texts"]["text_mkr5wya6"] == key]
    assert item["state"] == "archived"


def test_a_line_that_comes_back_is_recreated_not_duplicated(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    row = greyson_lines(db, 1)[0]
    key = row._mapping["AAG ORDER NUMBER"]
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c["AAG ORDER NUMBER"] == key))
    run_sync(db, config, client, GREYSON)
    with db.engine.begin() as connection:
        connection.execute(table.insert().values(dict(row._mapping)))
    outcome = run_sync(db, config, client, GREYSON)
    assert outcome.plan.items == 1
    copies = [i for i in emulator.items(CMS_BOARD_ID) if i["texts"]["text_mkr5wya6"] == key]
    assert sorted(i["state"] for i in copies) == ["active", "archived"]
    assert_board_matches_source(db, config, emulator, GREYSON)


def test_dry_run_shows_the_diff(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    key = greyson_lines(db, 1)[0]._mapping["AAG ORDER NUMBER"]
    edit(db, key, **{"CUSTOMER PRICE": "99.90"})
    emulator.reset_stats()
    outcome = run_sync(db, config, client, GREYSON, dry_run=True)
    assert emulator.stats.mutations == {}  # the board is read (every check), nothing sent
    (change,) = outcome.plan.preview
    assert change.action == "UPDATE" and change.order_key == key
    assert [(title, new) for title, _, new in change.columns] == [("CUSTOMER PRICE", "99.9")]
