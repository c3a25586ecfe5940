"""``recorder``: what a page of monday items leaves in the database, without monday (items built
by hand), on SQLite and PostgreSQL; and drift's pure parts (which columns drifted, what the
mirror keeps of them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.mirror_support import BOARD, NOW, add_item, add_subitem, mirror, tables_only
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.monday import Item
from ordersync.monday.models import ColumnValue
from ordersync.pull.recorder import (
    PulledValue,
    Recorded,
    ValueRecorder,
    drifted_columns,
    forget_pushed,
    item_columns,
    pushed_values,
    subitem_columns,
)
from ordersync.states import Source

OWNED = "numeric_mkrbty8b"  # an item column people own on monday (numbers)
PUSHED = "text_mkr5wya6"  # an item column ordersync owns (text)
SIZE, QTY = "dropdown_mkrak7qp", "numeric_mkra7j8e"  # a subitem's pushed columns


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = tables_only(db_url)
    yield database
    database.engine.dispose()


def cell(text: str | None) -> ColumnValue:
    return ColumnValue(text=text, value=text)


def record(
    db: Database, config: SyncConfig, items: list[Item], source: Source = Source.PULL, **kw: Any
) -> Recorded:
    recorder = ValueRecorder(db, config, BOARD, source, **kw)
    with db.engine.begin() as connection:
        return recorder.record(connection, items, NOW)


def changes(db: Database) -> list[tuple[Any, ...]]:
    table = db.tables.value_changes
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.change_id)).all()
    return [(r.monday_id, r.column_id, r.old_text, r.new_text, r.source) for r in rows]


def test_an_owned_value_is_typed_snapshotted_logged_and_cleared(
    db: Database, config: SyncConfig
) -> None:
    add_item(db, "K1", 11)
    found = record(db, config, [Item(11, "K1", values={OWNED: cell("42.50")})])
    assert (found.items_read, found.values_changed, found.drifts) == (1, 1, [])
    pulled = db.tables.pulled_values
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(pulled)).one()
    assert (row.column_id, row.number_value, row.text_value, row.source) == (
        OWNED,
        Decimal("42.5"),
        "42.5",
        "pull",
    )
    item = mirror(db, db.tables.items)["K1"]
    assert (json.loads(item.monday_values), item.pulled_at) == ({OWNED: "42.5"}, NOW)
    assert item.row_hash == "h-K1"  # people's values never make the line planned again

    again = record(db, config, [Item(11, "K1", values={OWNED: cell("42.5")})], Source.WEBHOOK)
    cleared = record(db, config, [Item(11, "K1", values={OWNED: cell(None)})], Source.WEBHOOK)
    assert (again.values_changed, cleared.values_changed) == (0, 1)
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(pulled)).scalar() == 0
    assert changes(db) == [
        (11, OWNED, None, "42.5", "pull"),
        (11, OWNED, "42.5", None, "webhook"),
    ]


def test_a_hand_edited_pushed_column_is_drift_once(db: Database, config: SyncConfig) -> None:
    add_item(db, "K1", 11, column_values=json.dumps({PUSHED: "JOO-1", "other": "x"}))
    edited = [Item(11, "K1", values={PUSHED: cell("JOO-2")})]
    found = record(db, config, edited)
    assert [(d.column_id, d.pushed, d.on_board) for d in found.drifts] == [
        (PUSHED, "JOO-1", "JOO-2")
    ]
    item = mirror(db, db.tables.items)["K1"]
    assert (json.loads(item.column_values), item.row_hash) == ({"other": "x"}, None)
    assert record(db, config, edited).drifts == []  # waiting for the next sync: not again
    assert changes(db) == [(11, PUSHED, "JOO-1", "JOO-2", "drift")]


def test_a_drifted_subitem_forgets_its_quantity_and_its_line_is_planned_again(
    db: Database, config: SyncConfig
) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12)
    add_subitem(db, "K1", "M", 31, 11)
    found = record(db, config, [Item(31, "M", parent_id=11, values={QTY: cell("7")})])
    assert (found.subitems_read, [(d.size_label, d.on_board) for d in found.drifts]) == (
        1,
        [("M", "7")],
    )
    subitem = mirror(db, db.tables.subitems)[("K1", "M")]
    assert (subitem.qty, subitem.row_hash) == (None, None)
    assert {k: r.row_hash for k, r in mirror(db, db.tables.items).items()} == {
        "K1": None,
        "K2": "h-K2",
    }


def test_unknown_items_are_returned_and_rows_recorded_since_are_skipped(
    db: Database, config: SyncConfig
) -> None:
    add_item(db, "K1", 11, pulled_at=NOW)
    add_item(db, "K2", 12, pulled_at=NOW - timedelta(hours=1))
    page = [Item(n, f"K{n}", values={OWNED: cell("1")}) for n in (11, 12, 99)]
    found = record(db, config, page, since=NOW - timedelta(minutes=1))
    assert [item.id for item in found.unknown_items] == [99]
    assert (found.items_read, found.values_changed) == (1, 1)  # K1 was recorded already
    assert [c[0] for c in changes(db)] == [12]


# ------------------------------------------------------------------------ drift's pure parts
def row(**values: Any) -> Any:
    return SimpleNamespace(**{"row_hash": "h", "column_values": None, **values})


def test_what_was_pushed_comes_from_the_mirror_row(config: SyncConfig) -> None:
    items, subitems = item_columns(config), subitem_columns(config)
    assert pushed_values(items, row(), subitems=False) is None  # nothing known
    assert pushed_values(items, row(column_values='{"a": "1"}'), subitems=False) == {"a": "1"}
    assert pushed_values(subitems, row(size_label="M", qty=5), subitems=True) == {
        SIZE: {"labels": ["M"]},
        QTY: "5",
    }
    assert pushed_values(subitems, row(size_label="M", qty=None), subitems=True) == {
        SIZE: {"labels": ["M"]}
    }


@pytest.mark.parametrize(
    ("row_hash", "pushed", "on_board", "drifted"),
    [
        ("h", {PUSHED: "A"}, "B", True),
        ("h", {PUSHED: "A"}, "A", False),  # the same
        ("h", {PUSHED: "A"}, None, True),  # cleared by hand
        ("h", {}, "B", True),  # filled by hand where the sync left it empty
        (None, {}, "B", False),  # already reported: the column is forgotten, hash cleared
        (None, {PUSHED: "A"}, "B", True),  # hash cleared for another reason: still drift
    ],
)
def test_which_pushed_columns_drifted(
    config: SyncConfig,
    row_hash: str | None,
    pushed: dict[str, Any],
    on_board: str | None,
    drifted: bool,
) -> None:
    item = Item(11, "K1", values={PUSHED: cell(on_board), "unread": cell("x")})
    found = drifted_columns(
        item_columns(config), item, row(row_hash=row_hash), pushed, subitems=False
    )
    assert [column for column, _, _ in found] == ([PUSHED] if drifted else [])


def test_a_column_not_read_is_not_drift(config: SyncConfig) -> None:
    found = drifted_columns(
        item_columns(config), Item(11, "K1"), row(), {PUSHED: "A"}, subitems=False
    )
    assert found == []


def test_a_drifted_column_is_forgotten_or_takes_the_boards_value() -> None:
    pushed: dict[str, Any] = {"a": "A", "b": None}
    forget_pushed(pushed, "a", "text", PulledValue("A"), PulledValue("B"))
    assert pushed == {"b": None}  # the next plan sends it again
    forget_pushed(pushed, "c", "numbers", PulledValue(None), PulledValue("7", Decimal(7)))
    assert pushed == {"b": None, "c": "7"}  # the next plan's diff clears it
