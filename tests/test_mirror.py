"""``mirror.Mirror``: every write to the mirror tables, on SQLite and PostgreSQL, each on the
rows it names and on no other (another line, another board); lists longer than one statement
binds are sliced; every statement compiles for SQL Server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from helpers.mirror_support import (
    BOARD,
    NOW,
    OTHER_BOARD,
    add_item,
    add_subitem,
    mirror,
    tables_only,
)
from ordersync.db import Database
from ordersync.mirror import Mirror
from ordersync.states import MirrorState

ARCHIVED, ACTIVE = MirrorState.ARCHIVED, MirrorState.ACTIVE


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = tables_only(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def statements(db: Database) -> list[Any]:
    """Every statement the test runs, for the SQL Server check."""
    seen: list[Any] = []
    sa.event.listen(db.engine, "before_execute", lambda c, s, *a: seen.append(s))
    return seen


def write(db: Database, action: Any) -> Any:
    with db.engine.begin() as connection:
        return action(Mirror(db.tables, BOARD), connection)


def items(db: Database, **where: Any) -> dict[Any, sa.Row]:
    return mirror(db, db.tables.items, board_id=BOARD, **where)


def subitems(db: Database, **where: Any) -> dict[Any, sa.Row]:
    return mirror(db, db.tables.subitems, board_id=BOARD, **where)


def test_promote_inserts_then_updates_and_makes_the_row_active(db: Database) -> None:
    values = {"monday_item_id": 11, "item_name": "A", "row_hash": "h1", "synced_at": NOW}
    write(db, lambda m, c: m.promote_item(c, "K1", values))
    add_item(db, "K2", 12, state=ARCHIVED)
    write(db, lambda m, c: m.promote_item(c, "K2", {**values, "monday_item_id": 22}))
    found = items(db)
    assert (found["K1"].monday_item_id, found["K1"].state, found["K1"].row_hash) == (
        11,
        ACTIVE,
        "h1",
    )
    assert (found["K2"].monday_item_id, found["K2"].state) == (22, ACTIVE)


def test_promote_subitem_inserts_then_updates(db: Database) -> None:
    values = {"monday_subitem_id": 31, "monday_parent_item_id": 11, "qty": 7, "synced_at": NOW}
    write(db, lambda m, c: m.promote_subitem(c, "K1", "M", values))
    write(db, lambda m, c: m.promote_subitem(c, "K1", "M", {**values, "qty": 9}))
    write(db, lambda m, c: m.promote_subitem(c, "K1", "L", {**values, "monday_subitem_id": 32}))
    found = subitems(db)
    assert {key: (row.qty, row.state) for key, row in found.items()} == {
        ("K1", "M"): (9, ACTIVE),
        ("K1", "L"): (7, ACTIVE),
    }


def test_merge_item_values_takes_changes_drops_cleared_and_ignores_the_name(db: Database) -> None:
    add_item(db, "K1", 11, column_values=json.dumps({"a": "1", "b": "2"}))
    changed = {"a": "9", "b": None, "c": {"labels": ["X"]}, "name": "New name"}
    write(db, lambda m, c: m.merge_item_values(c, "K1", changed, item_name="New name"))
    row = items(db)["K1"]
    assert json.loads(row.column_values) == {"a": "9", "c": {"labels": ["X"]}}
    assert row.item_name == "New name"


def test_forget_hashes_clears_only_the_lines_named_on_this_board(db: Database) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12)
    add_item(db, "K1", 13, board_id=OTHER_BOARD)
    write(db, lambda m, c: m.forget_hashes(c, ["K1", "K1"]))
    assert {key: row.row_hash for key, row in items(db).items()} == {"K1": None, "K2": "h-K2"}
    assert mirror(db, db.tables.items, board_id=OTHER_BOARD)["K1"].row_hash == "h-K1"


def test_more_keys_than_one_statement_binds_are_sliced(db: Database) -> None:
    keys = [f"K{n:04}" for n in range(2100)]  # over SQLite's 999, SQL Server's 2,000
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.items.insert(),
            [
                {"board_id": BOARD, "order_key": k, "monday_item_id": n, "row_hash": "h"}
                | {"state": ACTIVE, "synced_at": NOW}
                for n, k in enumerate(keys)
            ],
        )
    write(db, lambda m, c: m.forget_hashes(c, keys[1:]))
    write(db, lambda m, c: m.archive_lines(c, keys[:-1]))
    found = items(db)
    assert found[keys[0]].row_hash == "h" and found[keys[-1]].state == ACTIVE
    assert all(found[k].row_hash is None and found[k].state == ARCHIVED for k in keys[1:-1])


def test_archive_lines_archives_items_and_all_their_subitems(db: Database) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12)
    add_subitem(db, "K1", "M", 31, 11)
    add_subitem(db, "K2", "M", 32, 12)
    write(db, lambda m, c: m.archive_lines(c, ["K1"], batch_id="b1"))
    assert {k: (r.state, r.batch_id) for k, r in items(db).items()} == {
        "K1": (ARCHIVED, "b1"),
        "K2": (ACTIVE, None),
    }
    assert {k: r.state for k, r in subitems(db).items()} == {
        ("K1", "M"): ARCHIVED,
        ("K2", "M"): ACTIVE,
    }


def test_archive_row_archives_a_line_or_one_size_of_it(db: Database) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12)
    for size, subitem_id in (("M", 31), ("L", 32)):
        add_subitem(db, "K1", size, subitem_id, 11)
    add_subitem(db, "K2", "M", 33, 12)
    write(db, lambda m, c: m.archive_row(c, "K1", "M", batch_id="b1"))  # one size
    assert {k: (r.state, r.batch_id) for k, r in subitems(db).items()} == {
        ("K1", "M"): (ARCHIVED, "b1"),
        ("K1", "L"): (ACTIVE, None),
        ("K2", "M"): (ACTIVE, None),
    }
    assert {k: r.state for k, r in items(db).items()} == {"K1": ACTIVE, "K2": ACTIVE}
    write(db, lambda m, c: m.archive_row(c, "K2", batch_id="b2"))  # the line: all its sizes
    assert {k: (r.state, r.batch_id) for k, r in items(db).items()} == {
        "K1": (ACTIVE, None),
        "K2": (ARCHIVED, "b2"),
    }
    assert subitems(db)[("K2", "M")].state == ARCHIVED


def test_update_item_and_subitem_touch_one_row(db: Database) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12)
    add_subitem(db, "K1", "M", 31, 11)
    add_subitem(db, "K1", "L", 32, 11)
    write(db, lambda m, c: m.update_item(c, "K1", group_id="g2", group_title="G2"))
    write(db, lambda m, c: m.update_subitem(c, "K1", "M", qty=8, row_hash="new"))
    assert {k: r.group_id for k, r in items(db).items()} == {"K1": "g2", "K2": None}
    assert {k: (r.qty, r.row_hash) for k, r in subitems(db).items()} == {
        ("K1", "M"): (8, "new"),
        ("K1", "L"): (5, "h-K1-L"),
    }


def test_active_rows_are_this_boards_active_rows_by_monday_id(db: Database) -> None:
    add_item(db, "K1", 11)
    add_item(db, "K2", 12, state=ARCHIVED)
    add_item(db, "K3", 13, board_id=OTHER_BOARD)
    add_subitem(db, "K1", "M", 31, 11)
    with db.engine.connect() as connection:
        mirror_ = Mirror(db.tables, BOARD)
        found = mirror_.active_rows(connection, [11, 12, 13, 31], subitems=False)
        found_subitems = mirror_.active_rows(connection, [11, 31], subitems=True)
    assert {i: r.order_key for i, r in found.items()} == {11: "K1"}
    assert {i: r.size_label for i, r in found_subitems.items()} == {31: "M"}


def test_archive_subitems_and_restore_by_monday_id(db: Database) -> None:
    add_item(db, "K1", 11, state=ARCHIVED)
    add_item(db, "K2", 12)
    add_subitem(db, "K1", "M", 31, 11)
    add_subitem(db, "K1", "L", 32, 11)
    write(db, lambda m, c: m.archive_subitems(c, [31]))
    assert {k: r.state for k, r in subitems(db).items()} == {
        ("K1", "M"): ARCHIVED,
        ("K1", "L"): ACTIVE,
    }
    restored = write(db, lambda m, c: m.restore(c, [11, 12], subitems=False))
    assert [(row.order_key, row.state) for row in restored] == [("K1", ARCHIVED)]  # as it was
    restored_subitems = write(db, lambda m, c: m.restore(c, [31, 32], subitems=True))
    assert [row.size_label for row in restored_subitems] == ["M"]
    assert {k: r.state for k, r in items(db).items()} == {"K1": ACTIVE, "K2": ACTIVE}
    assert {r.state for r in subitems(db).values()} == {ACTIVE}


def test_what_a_pull_records_on_the_mirror(db: Database) -> None:
    add_item(db, "K1", 11, column_values=json.dumps({"a": "1"}))
    add_item(db, "K2", 12, column_values=json.dumps({"a": "1"}))
    add_subitem(db, "K1", "M", 31, 11)
    add_subitem(db, "K1", "L", 32, 11)

    def pull(m: Mirror, c: sa.Connection) -> None:
        m.stamp_pulled(c, [11], NOW, subitems=False)
        m.stamp_pulled(c, [31, 32], NOW, subitems=True)
        m.snapshot_values(c, {11: '{"x": "1"}'}, subitems=False)
        m.snapshot_values(c, {32: '{"y": "2"}'}, subitems=True)
        m.forget_drifted_items(c, {11: "{}"})
        m.forget_drifted_subitems(c, [31])

    write(db, pull)
    item, other = items(db)["K1"], items(db)["K2"]
    assert (item.pulled_at, item.monday_values, item.column_values, item.row_hash) == (
        NOW,
        '{"x": "1"}',
        "{}",
        None,
    )
    assert (other.pulled_at, other.monday_values, other.row_hash) == (None, None, "h-K2")
    medium, large = subitems(db)[("K1", "M")], subitems(db)[("K1", "L")]
    assert (medium.qty, medium.row_hash, medium.pulled_at) == (None, None, NOW)
    assert (large.qty, large.row_hash, large.monday_values) == (5, "h-K1-L", '{"y": "2"}')


def test_every_mirror_statement_compiles_for_sql_server(
    db: Database, statements: list[Any]
) -> None:
    add_item(db, "K1", 11)
    add_subitem(db, "K1", "M", 31, 11)
    values = {"monday_item_id": 11, "synced_at": NOW}

    def everything(m: Mirror, c: sa.Connection) -> None:
        m.promote_item(c, "K1", values)
        m.merge_item_values(c, "K1", {"a": "1"}, synced_at=NOW)
        m.promote_subitem(c, "K1", "M", {"monday_subitem_id": 31, "monday_parent_item_id": 11})
        m.update_subitem(c, "K1", "M", qty=1)
        m.active_rows(c, [11], subitems=False)
        m.forget_hashes(c, ["K1"])
        m.stamp_pulled(c, [11], NOW, subitems=False)
        m.snapshot_values(c, {11: "{}"}, subitems=False)
        m.forget_drifted_items(c, {11: "{}"})
        m.forget_drifted_subitems(c, [31])
        m.archive_subitems(c, [31])
        m.archive_lines(c, ["K1"])
        m.restore(c, [11], subitems=False)

    statements.clear()
    write(db, everything)
    assert len(statements) >= 13
    for statement in statements:
        assert str(statement.compile(dialect=mssql.dialect()))
