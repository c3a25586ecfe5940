"""pull end to end against the emulator, on SQLite and PostgreSQL: after a sync of GREYSON PO
4755, what people change on the board reaches the database, hand edits of database-owned
columns are reported and put back by the next sync, and items made or removed by hand are
reported (and re-created under the ``recreate`` policy).

Most tests start from ``synced`` (conftest): the database and board after one sync, copied per
test from a template synced once per session, instead of syncing again for every test."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_support import (
    ADD_TO_PLANNING,
    CUT_QTY,
    FCST_QTY,
    GREYSON,
    KEY_COLUMN,
    LINE_STATUS,
    ORDER_QTY,
    PRICE,
    Person,
    active_items,
    active_subitems,
    mirror_item,
    pushed_columns,
    rows,
)
from ordersync.clock import ManualClock
from ordersync.config import PullConfig, SyncConfig, parse_config
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Limits
from ordersync.errors import LockedError
from ordersync.monday import MondayClient
from ordersync.pull.pull import PullReport, pull_board
from ordersync.pull.recorder import pushed_value, read_value
from ordersync.states import MirrorState
from ordersync.sync import run_sync


def with_pull(config: SyncConfig, **settings: Any) -> SyncConfig:
    return config.model_copy(update={"pull": PullConfig(**settings)})


def first_line(emulator: Emulator) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """The first order line on the board: key, item, its subitems."""
    items = active_items(emulator)
    key = sorted(items)[0]
    subitems = [s for s in active_subitems(emulator) if s["parent_id"] == items[key]["id"]]
    return key, items[key], subitems


def pulled(db: Database, monday_id: int) -> dict[str, sa.Row]:
    table = db.tables.pulled_values
    return {r.column_id: r for r in rows(db, table, table.c.monday_id == monday_id)}


def changes(db: Database, source: str | None = None) -> list[sa.Row]:
    table = db.tables.value_changes
    where = [table.c.source == source] if source else []
    return rows(db, table, *where)


# ------------------------------------------------------------------------ monday-owned values
def test_monday_owned_values_reach_the_database_typed(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    key, item, subitems = first_line(emulator)
    person.set(
        subitems[0]["id"], {CUT_QTY: "12", LINE_STATUS: {"label": "IN PRODUCTION"}}, subitem=True
    )
    person.set(item["id"], {FCST_QTY: "300.5", ADD_TO_PLANNING: {"label": "YES"}})

    report = pull_board(synced, config, client)

    assert (report.items_read, report.subitems_read) == (69, 264)
    assert (report.values_changed, report.drifted) == (4, 0)
    assert report.unknown_items == report.unknown_subitems == 0
    assert report.missing_items == report.missing_subitems == []
    assert report.requests == 3  # two board reads, one page of items with their subitems
    sub = pulled(synced, subitems[0]["id"])
    assert sub[CUT_QTY].number_value == Decimal(12) and sub[CUT_QTY].text_value == "12"
    assert sub[LINE_STATUS].text_value == "IN PRODUCTION" and sub[LINE_STATUS].number_value is None
    assert (sub[CUT_QTY].order_key, sub[CUT_QTY].size_label) == (key, subitems[0]["name"])
    assert {r.source for r in sub.values()} == {"pull"}
    top = pulled(synced, item["id"])
    assert (
        top[FCST_QTY].number_value == Decimal("300.5") and top[ADD_TO_PLANNING].text_value == "YES"
    )
    assert mirror_item(synced, key).monday_values == (
        '{"color_mkrerxrs": "YES", "numeric_mkrb56rj": "300.5"}'
    )
    logged = {(c.monday_id, c.column_id): (c.old_text, c.new_text) for c in changes(synced, "pull")}
    assert logged == {
        (subitems[0]["id"], CUT_QTY): (None, "12"),
        (subitems[0]["id"], LINE_STATUS): (None, "IN PRODUCTION"),
        (item["id"], FCST_QTY): (None, "300.5"),
        (item["id"], ADD_TO_PLANNING): (None, "YES"),
    }


def test_a_change_and_a_cleared_value_are_logged_and_nothing_twice(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    _, _, subitems = first_line(emulator)
    person.set(subitems[0]["id"], {CUT_QTY: "12", LINE_STATUS: {"label": "PACKED"}}, subitem=True)
    pull_board(synced, config, client)
    person.set(subitems[0]["id"], {CUT_QTY: "15", LINE_STATUS: None}, subitem=True)

    report = pull_board(synced, config, client)
    again = pull_board(synced, config, client)

    assert report.values_changed == 2 and again.values_changed == 0
    values = pulled(synced, subitems[0]["id"])
    assert set(values) == {CUT_QTY}  # a cleared value has no row
    assert values[CUT_QTY].number_value == Decimal(15)
    history = [(c.column_id, c.old_text, c.new_text) for c in changes(synced, "pull")]
    assert history[2:] == [(CUT_QTY, "12", "15"), (LINE_STATUS, "PACKED", None)] or sorted(
        history[2:], key=str
    ) == sorted([(CUT_QTY, "12", "15"), (LINE_STATUS, "PACKED", None)], key=str)
    assert len(history) == 4


def test_dates_are_pulled_as_dates(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator, person: Person
) -> None:
    """A monday-owned date column (EX FACTORY DATE handed to the planners, in this test)."""
    data = config.model_dump(by_alias=True)
    moved = next(c for c in data["items"]["columns"] if c["column_id"] == "date_mkr57811")
    data["items"]["columns"].remove(moved)
    data["items"]["monday_owned"].append(
        {"title": "EX FACTORY DATE", "column_id": "date_mkr57811", "type": "date"}
    )
    dates = parse_config(data)
    assert run_sync(db, dates, client, GREYSON).exit_code == 0
    _, item, _ = first_line(emulator)
    person.set(item["id"], {"date_mkr57811": {"date": "2026-03-15"}})

    report = pull_board(db, dates, client)

    assert report.values_changed == 1
    value = pulled(db, item["id"])["date_mkr57811"]
    assert value.date_value == date(2026, 3, 15) and value.text_value == "2026-03-15"


# ------------------------------------------------------------------------ drift
def test_a_hand_edit_of_a_database_owned_column_is_drift(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    key, item, subitems = first_line(emulator)
    pushed_price = pushed_columns(synced, key)[PRICE]
    person.set(item["id"], {PRICE: "999"})
    person.set(subitems[0]["id"], {ORDER_QTY: "7"}, subitem=True)

    report = pull_board(synced, config, client)

    assert report.drifted == 2 and report.values_changed == 0
    drifts = {d.column_id: d for d in report.drifts}
    assert (drifts[PRICE].pushed, drifts[PRICE].on_board) == (pushed_price, "999")
    assert drifts[PRICE].title == "CUSTOMER PRICE" and drifts[PRICE].order_key == key
    assert drifts[ORDER_QTY].on_board == "7" and drifts[ORDER_QTY].size_label == subitems[0]["name"]
    logged = {(c.column_id, c.old_text, c.new_text) for c in changes(synced, "drift")}
    assert (PRICE, pushed_price, "999") in logged and len(logged) == 2
    row = mirror_item(synced, key)
    assert row.row_hash is None and PRICE not in pushed_columns(synced, key)
    assert KEY_COLUMN in pushed_columns(synced, key)  # only the drifted column is dropped
    subitem_mirror = synced.tables.subitems
    (sub,) = rows(synced, subitem_mirror, subitem_mirror.c.monday_subitem_id == subitems[0]["id"])
    assert sub.qty is None and sub.row_hash is None

    again = pull_board(synced, config, client)
    assert again.drifted == 0 and len(changes(synced, "drift")) == 2  # reported once


def test_the_next_sync_puts_drifted_values_back(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    key, item, subitems = first_line(emulator)
    price = item["texts"][PRICE]
    quantity = subitems[0]["texts"][ORDER_QTY]
    person.set(item["id"], {PRICE: "999"})
    person.set(subitems[0]["id"], {ORDER_QTY: "7"}, subitem=True)
    pull_board(synced, config, client)

    outcome = run_sync(synced, config, client, GREYSON)

    assert outcome.exit_code == 0
    _, item, subitems = first_line(emulator)
    assert item["texts"][PRICE] == price
    assert next(s for s in subitems if s["id"] == subitems[0]["id"])["texts"][ORDER_QTY] == quantity
    assert pull_board(synced, config, client).drifted == 0
    assert mirror_item(synced, key).row_hash is not None
    assert run_sync(synced, config, client, GREYSON).status == "NO_CHANGES"


# ------------------------------------------------------------------------ one side only
def test_items_made_by_hand_are_reported(
    synced: Database, config: SyncConfig, client: MondayClient, person: Person
) -> None:
    made = person.create_item("HAND MADE LINE", {KEY_COLUMN: "HAND-1"})

    report = pull_board(synced, config, client)

    assert report.unknown_items == 1 and report.unknown_subitems == 0
    assert report.unknown_samples == [
        {"monday_id": made, "name": "HAND MADE LINE", "parent_id": None}
    ]
    assert pulled(synced, made) == {}


@pytest.mark.parametrize("policy", ["recreate", "flag"])
def test_items_archived_or_deleted_on_monday(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
    policy: str,
) -> None:
    keys = sorted(active_items(emulator))
    archived, deleted = active_items(emulator)[keys[0]], active_items(emulator)[keys[1]]
    lone = next(
        s
        for s in active_subitems(emulator)
        if s["parent_id"] == active_items(emulator)[keys[2]]["id"]
    )
    person.archive(archived["id"])
    person.delete(deleted["id"])
    person.archive(lone["id"])
    configured = with_pull(config, missing_item_policy=policy)

    report = pull_board(synced, configured, client)

    states = {(m.order_key, m.size_label): m.state for m in report.missing_items}
    assert states == {(keys[0], None): "archived", (keys[1], None): "deleted"}
    assert [(m.order_key, m.size_label, m.state) for m in report.missing_subitems] == [
        (keys[2], lone["name"], "archived")
    ]
    mirror = {r.order_key: r.state for r in rows(synced, synced.tables.items)}
    outcome = run_sync(synced, configured, client, GREYSON)
    if policy == "flag":
        assert mirror[keys[0]] == mirror[keys[1]] == MirrorState.ACTIVE
        assert changes(synced) == []
        assert len(active_items(emulator)) == 67
        return
    assert mirror[keys[0]] == mirror[keys[1]] == MirrorState.ARCHIVED
    logged = {(c.order_key, c.size_label, c.new_text) for c in changes(synced, "pull")}
    assert logged == {
        (keys[0], None, "archived"),
        (keys[1], None, "deleted"),
        (keys[2], lone["name"], "archived"),
    }
    assert outcome.exit_code == 0
    assert set(active_items(emulator)) == set(keys)  # re-created by the sync
    assert sum(1 for s in active_subitems(emulator)) == 264
    assert pull_board(synced, configured, client).missing_items == []


# ------------------------------------------------------------------------ paging
def test_a_cursor_expiring_mid_pull_is_survived(
    synced: Database, synced_board: dict[str, Any], config: SyncConfig, clock: ManualClock
) -> None:
    emulator = Emulator(clock=clock, limits=Limits(cursor_ttl=600))
    emulator.store.load_dict(synced_board)
    person = Person(emulator)
    with MondayClient(
        "http://emulator.test/v2", "t", transport=emulator.transport(), clock=clock
    ) as client:
        keys = sorted(active_items(emulator))
        first, last = active_items(emulator)[keys[0]], active_items(emulator)[keys[-1]]
        person.set(first["id"], {FCST_QTY: "5"})
        person.set(last["id"], {FCST_QTY: "6"})
        pages: list[int] = []

        def an_hour_passes_after_the_second_page(phase: str, done: int) -> None:
            pages.append(done)
            if len(pages) == 2:
                clock.advance(601)  # the cursor for page 3 has expired

        report = pull_board(
            synced,
            with_pull(config, page_size=10),
            client,
            progress=an_hour_passes_after_the_second_page,
        )
    person.close()
    assert report.restarts == 1
    assert (report.items_read, report.subitems_read) == (69, 264)  # each counted once
    assert report.pages == 2 + 7  # two pages, then the seven pages from the start again
    assert report.requests == 2 + 3 + 7  # board reads, pages 1-3 (3 expired), seven pages
    assert report.values_changed == 2 and len(changes(synced, "pull")) == 2
    assert report.missing_items == [] and report.missing_subitems == []
    assert pulled(synced, last["id"])[FCST_QTY].number_value == Decimal(6)


def test_separate_subitem_paging_reads_the_same(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    _, item, subitems = first_line(emulator)
    person.set(subitems[-1]["id"], {CUT_QTY: "3"}, subitem=True)
    person.set(item["id"], {FCST_QTY: "40"})

    report = pull_board(synced, with_pull(config, subitems="separate"), client)

    assert report.paging == "separate" and report.pages == 2
    assert report.requests == 4  # two board reads, one page of each board
    assert (report.items_read, report.subitems_read, report.values_changed) == (69, 264, 2)
    assert pulled(synced, subitems[-1]["id"])[CUT_QTY].number_value == Decimal(3)


def test_nested_paging_falls_back_when_monday_finds_it_too_complex(
    synced: Database, synced_board: dict[str, Any], config: SyncConfig, clock: ManualClock
) -> None:
    # A nested page of 500 costs ~973k points on the emulator, a page of items alone ~323k:
    # a 750k cap refuses the first and admits the second.
    emulator = Emulator(clock=clock, limits=Limits(max_query_complexity=750_000))
    emulator.store.load_dict(synced_board)
    with MondayClient(
        "http://emulator.test/v2", "t", transport=emulator.transport(), clock=clock
    ) as client:
        report = pull_board(synced, config, client)
    assert report.paging == "separate"
    assert (report.items_read, report.subitems_read) == (69, 264)
    assert report.requests == 5  # two board reads, the refused page, one page of each board


# ------------------------------------------------------------------------ safety
def test_a_pull_waits_for_no_one_and_never_interleaves_with_a_sync(
    synced: Database, config: SyncConfig, client: MondayClient
) -> None:
    with (
        board_lock(synced.engine, synced.tables.locks, CMS_BOARD_ID),
        pytest.raises(LockedError),
    ):
        pull_board(synced, config, client)
    assert pull_board(synced, config, client).items_read == 69


def test_a_pull_whose_board_is_taken_over_stops_writing(
    synced: Database, config: SyncConfig, client: MondayClient
) -> None:
    locks = synced.tables.locks

    def taken_over_after_the_first_page(phase: str, done: int) -> None:
        with synced.engine.begin() as connection:
            connection.execute(locks.update().values(owner="elsewhere:1:taken-over"))

    with pytest.raises(LockedError, match="taken over"):
        pull_board(
            synced,
            with_pull(config, page_size=10),
            client,
            progress=taken_over_after_the_first_page,
        )
    items = synced.tables.items
    read = rows(synced, items, items.c.pulled_at.is_not(None))
    assert len(read) == 10  # the first page only


@pytest.mark.parametrize("synced", ["sqlite"], indirect=True)
def test_every_pull_statement_compiles_for_sql_server(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    from sqlalchemy.dialects import mssql

    db = synced
    _, item, subitems = first_line(emulator)
    person.set(item["id"], {PRICE: "1", FCST_QTY: "2"})
    person.set(subitems[0]["id"], {CUT_QTY: "3", ORDER_QTY: "4"}, subitem=True)
    person.archive(active_items(emulator)[sorted(active_items(emulator))[1]]["id"])
    seen: list[Any] = []
    sa.event.listen(db.engine, "before_execute", lambda c, s, *a: seen.append(s))
    report: PullReport = pull_board(db, config, client)
    person.set(subitems[0]["id"], {CUT_QTY: None}, subitem=True)
    pull_board(db, config, client)
    assert report.drifted == 2 and report.values_changed == 2 and report.missing_items
    kinds = {type(s).__name__ for s in seen}
    assert {"Select", "Insert", "Update", "Delete"} <= kinds
    for statement in seen:
        if isinstance(statement, sa.ClauseElement):
            assert str(statement.compile(dialect=mssql.dialect()))


# ------------------------------------------------------------------------ reading values
@pytest.mark.parametrize(
    ("column_type", "value", "text", "expected"),
    [
        ("numbers", '"42.50"', "42.50", ("42.5", Decimal("42.50"), None)),
        ("numbers", None, "", (None, None, None)),
        ("status", '{"index": 1, "post_id": null}', "SHIPPED", ("SHIPPED", None, None)),
        ("dropdown", '{"ids": [1, 2]}', "XS, S", ("XS, S", None, None)),
        (
            "date",
            '{"date": "2026-01-31", "time": null}',
            "2026-01-31",
            ("2026-01-31", None, date(2026, 1, 31)),
        ),
        ("text", '"4755"', "4755", ("4755", None, None)),
        ("long_text", '{"text": "two\\nlines"}', "two\nlines", ("two\nlines", None, None)),
        ("numbers", '"abc"', "abc", ("abc", None, None)),  # unreadable: the text is kept
    ],
)
def test_read_value_types_a_board_value(
    column_type: str, value: str | None, text: str, expected: tuple[Any, ...]
) -> None:
    typed = read_value(column_type, value, text)
    assert (typed.text, typed.number, typed.day) == expected


@pytest.mark.parametrize(
    ("column_type", "pushed", "board_value", "board_text"),
    [
        ("text", "4755", '"4755"', "4755"),
        ("numbers", "18.5", '"18.50"', "18.50"),
        ("status", {"label": "EACH"}, '{"index": 0}', "EACH"),
        ("dropdown", {"labels": ["GREYSON"]}, '{"ids": [3]}', "GREYSON"),
        ("date", {"date": "2026-02-01"}, '{"date": "2026-02-01", "time": null}', "2026-02-01"),
        ("long_text", {"text": "x"}, '{"text": "x", "changed_at": "t"}', "x"),
        ("text", None, None, ""),  # empty equals absent
    ],
)
def test_what_was_pushed_reads_like_the_board(
    column_type: str, pushed: Any, board_value: str | None, board_text: str
) -> None:
    assert (
        pushed_value(column_type, pushed).text
        == read_value(column_type, board_value, board_text).text
    )


# ------------------------------------------------------------------------ the command line
def test_pull_and_sync_pull_from_the_command_line(db_url: str, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    entry = [sys.executable, "-c", "from ordersync.cli import main; main()"]
    # on the system clock: a large budget, so the client never waits a minute for its reset
    emulator = Emulator(seed=True, limits=Limits(complexity_budget=10**9))
    with emulator.serve() as monday:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
        env.update(
            ORDERSYNC_DATABASE_URL=db_url,
            MONDAY_API_URL=monday.url,
            MONDAY_API_TOKEN="cli-test-token",
            HOME=str(tmp_path),
            COLUMNS="120",
        )

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*entry, *args], env=env, capture_output=True, text=True, timeout=120, check=False
            )

        for args in (["init-db"], ["demo-data"]):
            assert run(*args).returncode == 0
        scope = ["--customer", "GREYSON", "--po-number", "4755"]
        first = run("sync", "--pull", *scope, "--json")
        assert first.returncode == 0, first.stderr
        result = json.loads(first.stdout)
        assert result["status"] == "BATCH_COMPLETED" and result["pull"]["items_read"] == 0

        someone = Person(emulator)
        _, item, subitems = first_line(emulator)
        someone.set(subitems[0]["id"], {CUT_QTY: "4"}, subitem=True)
        someone.set(item["id"], {PRICE: "0.5"})
        someone.close()
        pulled_now = run("pull", "--json")
        assert pulled_now.returncode == 0, pulled_now.stderr
        report = json.loads(pulled_now.stdout)
        assert (report["items_read"], report["subitems_read"]) == (69, 264)
        assert report["values_changed"] == 1 and report["drifted_columns"] == 1
        assert report["drifts"][0]["column_id"] == PRICE

        shown = run("sync", "--pull", *scope)
        assert shown.returncode == 0, shown.stderr
        assert "pulled board 4755559751: 69 items and 264 subitems" in shown.stdout
        assert run("sync", "--pull", "--dry-run", *scope).returncode == 2
    assert first_line(emulator)[1]["texts"][PRICE] != "0.5"  # put back by the sync


def test_a_value_typed_into_a_column_the_database_leaves_empty_is_cleared(
    synced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    person: Person,
) -> None:
    key, item, _ = first_line(emulator)
    empty = next(
        c.column_id
        for c in config.items.columns
        if c.column_id not in pushed_columns(synced, key)  # NOTES: empty in the source
    )
    person.set(item["id"], {empty: {"text": "typed by hand"}})

    report = pull_board(synced, config, client)

    assert [(d.column_id, d.pushed, d.on_board) for d in report.drifts] == [
        (empty, None, "typed by hand")
    ]
    assert pull_board(synced, config, client).drifted == 0  # reported once
    assert run_sync(synced, config, client, GREYSON).exit_code == 0
    assert active_items(emulator)[key]["texts"][empty] == ""  # the database's empty value
    assert pull_board(synced, config, client).drifted == 0
    assert empty not in pushed_columns(synced, key)
