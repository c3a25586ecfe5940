"""``batches``: the one writer of batch records, on SQLite and PostgreSQL — created with what a
plan counted, advanced stage by stage with each stage's stamp, counters added to and summed,
read back for ``status``, ``--json``, ``report``, ``/metrics`` and the dashboard; every
statement compiles for SQL Server. The expected names below are typed out on purpose: they are
what ``--json`` and the database promise, not what ``batch_counters`` happens to declare."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from helpers.mirror_support import tables_only
from ordersync import batches
from ordersync.batch_counters import COUNTERS, PLAN_TALLIES, plan_counts, planned_json
from ordersync.batches import BatchReport
from ordersync.db import Database
from ordersync.push.plan import PlanResult
from ordersync.states import BatchStatus

BOARD, OTHER_BOARD = 4755559751, 1111

PLANNED = [
    "planned_items",
    "planned_subitems",
    "planned_item_updates",
    "planned_item_archives",
    "planned_subitem_updates",
    "planned_subitem_archives",
]
DELIVERED = [
    f"{kind}s_{outcome}"
    for kind in ("item", "subitem")
    for outcome in ("created", "adopted", "updated", "archived", "failed")
]
USAGE = ["requests", "retries", "throttled", "complexity_spent"]
EVERY_COUNTER = [*PLANNED, *DELIVERED, "rows_rejected", *USAGE]
STAMPS = ["created_at", "staged_at", "items_completed_at", "subitems_completed_at", "completed_at"]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = tables_only(db_url)
    yield database
    database.engine.dispose()


def plan(**tallies: int) -> PlanResult:
    return PlanResult(board_id=BOARD, **tallies)


def create(
    db: Database,
    batch_id: str,
    board_id: int = BOARD,
    customer: str | None = "GREYSON",
    counts: dict[str, int] | None = None,
) -> None:
    with db.engine.begin() as connection:
        batches.create_batch(
            connection,
            db.tables,
            batch_id,
            board_id=board_id,
            mode="CMS",
            customer=customer,
            po_number="4755",
            season=None,
            counts=counts or {},
            config_snapshot="{}",
        )


def add(db: Database, batch_id: str, **increments: int) -> None:
    with db.engine.begin() as connection:
        batches.add_counts(connection, db.tables, batch_id, increments)


def report(db: Database, batch_id: str) -> BatchReport:
    found = batches.load_report(db, batch_id)
    assert found is not None
    return found


def set_created(db: Database, batch_id: str, when: datetime) -> None:
    """Test setup: a batch made at another time (no module but ``batches`` writes otherwise)."""
    table = db.tables.batches
    with db.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.batch_id == batch_id).values(created_at=when)
        )


# ----------------------------------------------------------------------------- create
def test_create_records_a_staged_batch_with_what_the_plan_counted(db: Database) -> None:
    tallies = plan(
        items=1,
        subitems=2,
        item_updates=3,
        item_moves=4,
        item_archives=5,
        subitem_updates=6,
        subitem_archives=7,
        rejected=8,
        unchanged=99,
    )
    create(db, "b1", counts=plan_counts(tallies))
    found = report(db, "b1")
    assert (found.status, found.board_id, found.mode) == ("STAGED", BOARD, "CMS")
    assert (found.customer, found.po_number, found.season) == ("GREYSON", "4755", None)
    assert [getattr(found, name) for name in [*PLANNED, "rows_rejected"]] == [
        1,
        2,
        3 + 4,  # a move is recorded as an update
        5,
        6,
        7,
        8,
    ]
    assert all(getattr(found, name) == 0 for name in [*DELIVERED, "requests", "retries"])
    assert found.created_at is not None and found.staged_at == found.created_at
    assert (found.items_completed_at, found.subitems_completed_at, found.completed_at) == (
        None,
        None,
        None,
    )


def test_a_dry_run_shows_the_plan_s_own_tallies_under_sync_json_s_keys() -> None:
    tallies = plan(items=1, subitems=2, item_updates=3, item_moves=4, item_archives=5)
    shown = planned_json(tallies)
    assert list(shown.items()) == [
        ("items_create", 1),
        ("items_update", 3 + 4),  # a move is an update: as the batch records it (below)
        ("items_archive", 5),
        ("subitems_create", 2),
        ("subitems_update", 0),
        ("subitems_archive", 0),
    ]
    assert plan_counts(tallies)["planned_item_updates"] == shown["items_update"]


def test_a_plan_s_tallies_are_the_names_the_counters_declare() -> None:
    tallies = {f.name for f in fields(PlanResult) if f.metadata.get("tally")}
    assert tallies == PLAN_TALLIES
    assert {
        "items",
        "subitems",
        "item_updates",
        "item_moves",
        "item_archives",
        "subitem_updates",
        "subitem_archives",
        "rejected",
    } == PLAN_TALLIES
    result = plan(**dict.fromkeys(PLAN_TALLIES, 2), unchanged=5, warnings=3)
    assert result.changes == 2 * 7  # every planned tally, moves too; not the rejected rows
    assert plan().empty and not plan(rejected=1).empty and not plan(item_moves=1).empty


@pytest.mark.parametrize("write", ["create", "add"])
def test_a_name_that_is_no_counter_is_refused(db: Database, write: str) -> None:
    with pytest.raises(ValueError, match="items_creatd"):
        if write == "create":
            create(db, "b1", counts={"items_creatd": 1})
        else:
            create(db, "b1")
            add(db, "b1", items_creatd=1)


# ----------------------------------------------------------------------------- advance
def test_each_stage_sets_its_own_stamp_and_no_other(db: Database) -> None:
    create(db, "b1")
    stages = [
        (BatchStatus.ITEMS_COMPLETED, "items_completed_at"),
        (BatchStatus.SUBITEMS_COMPLETED, "subitems_completed_at"),
    ]
    for status, stamp in stages:
        before = report(db, "b1")
        assert getattr(before, stamp) is None
        batches.advance(db, "b1", status)
        after = report(db, "b1")
        assert after.status == status
        assert getattr(after, stamp) is not None and getattr(after, stamp) >= before.staged_at
        untouched = [name for name in STAMPS if name != stamp]
        assert [getattr(after, n) for n in untouched] == [getattr(before, n) for n in untouched]
    assert batches.batch_status(db, "b1") is BatchStatus.SUBITEMS_COMPLETED


def test_advance_moves_updated_at(db: Database) -> None:
    create(db, "b1")
    table = db.tables.batches
    old = datetime(2020, 1, 1)
    with db.engine.begin() as connection:
        connection.execute(table.update().values(updated_at=old))
    batches.advance(db, "b1", BatchStatus.ITEMS_COMPLETED)
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(table.c.updated_at)).scalar_one() > old


def test_a_clean_batch_completes_and_is_stamped(db: Database) -> None:
    create(db, "b1")
    add(db, "b1", items_created=3, subitems_created=5)
    assert batches.complete(db, "b1") is BatchStatus.BATCH_COMPLETED
    done = report(db, "b1")
    assert done.status == "BATCH_COMPLETED" and done.completed_at is not None


@pytest.mark.parametrize("counter", ["rows_rejected", "items_failed", "subitems_failed"])
def test_any_rejected_or_failed_row_completes_with_errors(db: Database, counter: str) -> None:
    create(db, "b1", counts={"planned_items": 2})
    add(db, "b1", items_created=2, items_adopted=1, **{counter: 1})
    assert batches.complete(db, "b1") is BatchStatus.COMPLETED_WITH_ERRORS
    assert report(db, "b1").completed_at is not None


def test_a_retryable_error_keeps_the_batch_resumable(db: Database) -> None:
    create(db, "b1")
    batches.advance(db, "b1", BatchStatus.ITEMS_COMPLETED)
    batches.note_error(db, "b1", "429 twice", permanent=False)
    found = report(db, "b1")
    assert (found.status, found.error, found.completed_at) == ("ITEMS_COMPLETED", "429 twice", None)
    assert batches.unfinished_batches(db, BOARD) == ["b1"]


def test_a_permanent_error_fails_the_batch(db: Database) -> None:
    create(db, "b1")
    batches.note_error(db, "b1", "not authenticated", permanent=True)
    found = report(db, "b1")
    assert (found.status, found.error) == ("FAILED", "not authenticated")
    assert found.completed_at is not None and found.items_completed_at is None
    assert batches.unfinished_batches(db, BOARD) == []
    assert batches.latest_batch_with_errors(db) == "b1"


# ----------------------------------------------------------------------------- count
def test_every_counter_adds_up_on_its_own_batch_only(db: Database) -> None:
    create(db, "b1")
    create(db, "b2")
    increments = {name: n for n, name in enumerate(EVERY_COUNTER, 1)}
    add(db, "b1", **increments)
    add(db, "b1", **increments)
    add(db, "b1", items_failed=0)  # zeros write nothing
    found = report(db, "b1")
    assert {name: getattr(found, name) for name in EVERY_COUNTER} == {
        name: 2 * n for name, n in increments.items()
    }
    assert all(getattr(report(db, "b2"), name) == 0 for name in EVERY_COUNTER)


def test_counter_sums_add_every_counter_over_every_batch(db: Database) -> None:
    for batch_id, factor in (("b1", 1), ("b2", 100)):
        create(db, batch_id)
        add(db, batch_id, **{name: factor * n for n, name in enumerate(EVERY_COUNTER, 1)})
    assert batches.counter_sums(db) == {name: 101 * n for n, name in enumerate(EVERY_COUNTER, 1)}


def test_usage_counters_hold_more_than_an_int(db: Database) -> None:
    create(db, "b1")
    add(db, "b1", complexity_spent=3_000_000_000, throttled=2_500_000_000)
    found = report(db, "b1")
    assert (found.complexity_spent, found.throttled) == (3_000_000_000, 2_500_000_000)


# ----------------------------------------------------------------------------- read
def test_a_record_as_json_keeps_its_keys_and_their_order(db: Database) -> None:
    create(db, "b1", counts={"planned_items": 4})
    add(db, "b1", items_created=4, requests=2)
    data = report(db, "b1").as_dict()
    assert list(data) == [
        "batch_id",
        "status",
        "board_id",
        "mode",
        "customer",
        "po_number",
        "season",
        *PLANNED,
        *DELIVERED,
        "rows_rejected",
        "requests",
        "retries",
        "throttled",
        "complexity_spent",
        *STAMPS,
        "error",
    ]
    assert (data["planned_items"], data["items_created"], data["requests"]) == (4, 4, 2)
    assert isinstance(data["created_at"], str) and data["completed_at"] is None


def test_a_report_has_each_counter_as_an_attribute_and_no_other(db: Database) -> None:
    create(db, "b1")
    found = report(db, "b1")
    assert [c.column for c in COUNTERS] == EVERY_COUNTER
    assert found.counts == dict.fromkeys(EVERY_COUNTER, 0)
    with pytest.raises(AttributeError):
        found.items_creatd  # noqa: B018
    assert batches.load_report(db, "nope") is None


def test_done_planned_and_rejected_of_a_record(db: Database) -> None:
    create(db, "b1", counts={"planned_items": 5, "planned_item_updates": 2, "rows_rejected": 1})
    add(db, "b1", items_created=2, items_adopted=1, items_updated=2, items_failed=2)
    add(db, "b1", planned_subitem_archives=3, subitems_archived=3, subitems_failed=4)
    found = report(db, "b1")
    assert (found.applied("item"), found.planned("item")) == (5, 7)
    assert (found.applied("subitem"), found.planned("subitem")) == (3, 3)
    assert found.rejected_rows() == 1 + 2 + 4


def test_reads_by_board_status_time_and_customer(db: Database) -> None:
    start = datetime(2026, 12, 1, 9, 0)
    made = [("a1", BOARD, "GREYSON"), ("a2", BOARD, "GREYSON"), ("a3", BOARD, None)]
    made.append(("o1", OTHER_BOARD, "GREYSON"))
    for n, (batch_id, board, customer) in enumerate(made):
        create(db, batch_id, board, customer)
        set_created(db, batch_id, start + timedelta(hours=n))
    batches.complete(db, "a1")
    batches.note_error(db, "o1", "gone", permanent=True)

    assert batches.unfinished_batches(db, BOARD) == ["a2", "a3"]
    assert [r.batch_id for r in batches.running_batches(db)] == ["a2", "a3"]
    assert [r.batch_id for r in batches.latest_batches(db, 2)] == ["o1", "a3"]
    since = start + timedelta(minutes=30)
    assert {r.batch_id for r in batches.batches_since(db, since)} == {"a2", "a3", "o1"}
    assert {r.batch_id for r in batches.batches_since(db, since, "GREYSON")} == {"a2", "o1"}
    latest = {(r.board_id, r.customer): r.batch_id for r in batches.latest_per_customer(db)}
    assert latest == {(BOARD, "GREYSON"): "a2", (BOARD, None): "a3", (OTHER_BOARD, "GREYSON"): "o1"}
    assert sorted(batches.count_by_status(db)) == [
        (OTHER_BOARD, "FAILED", 1),
        (BOARD, "BATCH_COMPLETED", 1),
        (BOARD, "STAGED", 2),
    ]
    completed = batches.last_completed(db)
    assert [(board, customer) for board, customer, _ in completed] == [(BOARD, "GREYSON")]
    assert completed[0][2] == report(db, "a1").completed_at
    assert batches.resolve_batch_id(db, "A2") == "a2"


def test_every_batch_statement_compiles_for_sql_server(db: Database) -> None:
    statements: list[Any] = []
    sa.event.listen(db.engine, "before_execute", lambda c, s, *a: statements.append(s))
    create(db, "b1", counts={"planned_items": 1})
    add(db, "b1", items_created=1, requests=1)
    batches.advance(db, "b1", BatchStatus.ITEMS_COMPLETED)
    batches.note_error(db, "b1", "slow", permanent=False)
    batches.complete(db, "b1")
    batches.batch_status(db, "b1")
    batches.running_batches(db, BOARD)
    batches.latest_batches(db)
    batches.batches_since(db, datetime(2026, 1, 1), "GREYSON")
    batches.latest_per_customer(db)
    batches.count_by_status(db)
    batches.counter_sums(db)
    batches.last_completed(db)
    writes = [s for s in statements if isinstance(s, (sa.Insert, sa.Update))]
    assert len(writes) >= 5
    for statement in statements:
        assert str(statement.compile(dialect=mssql.dialect()))
