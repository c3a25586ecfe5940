"""``missing``: items and subitems gone from monday under each ``missing_item_policy``, and the
way back (restored), on SQLite and PostgreSQL without monday (the states monday would answer
are given), plus the pure parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

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
from ordersync.pull.missing import (
    STATE_COLUMN,
    MissingRow,
    archived_subitems_of,
    handle_missing,
    outside_lines,
    restore_rows,
    rows_of,
    settle_missing,
)
from ordersync.states import MirrorState, Source

ARCHIVED, ACTIVE = MirrorState.ARCHIVED, MirrorState.ACTIVE


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = tables_only(db_url)
    add_item(database, "K1", 11)
    add_item(database, "K2", 12)
    add_subitem(database, "K1", "M", 31, 11)
    add_subitem(database, "K2", "M", 32, 12)
    add_subitem(database, "K2", "L", 33, 12)
    yield database
    database.engine.dispose()


def states(db: Database) -> dict[Any, str]:
    items = {k: r.state for k, r in mirror(db, db.tables.items, board_id=BOARD).items()}
    subitems = mirror(db, db.tables.subitems, board_id=BOARD)
    return {**items, **{k: r.state for k, r in subitems.items()}}


def hashes(db: Database) -> dict[str, str | None]:
    return {k: r.row_hash for k, r in mirror(db, db.tables.items, board_id=BOARD).items()}


def logged(db: Database) -> list[tuple[Any, ...]]:
    table = db.tables.value_changes
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.change_id)).all()
    return [(r.monday_id, r.column_id, r.old_text, r.new_text, r.source) for r in rows]


def settle(db: Database, items: list[MissingRow], subitems: list[MissingRow], policy: Any) -> Any:
    with db.engine.begin() as connection:
        return settle_missing(
            connection, db, BOARD, items, subitems, policy=policy, source=Source.PULL, now=NOW
        )


def test_recreate_archives_a_gone_item_with_its_subitems_and_logs_it(db: Database) -> None:
    settle(db, [MissingRow(11, "K1", None, "deleted")], [], "recreate")
    assert states(db) == {
        "K1": ARCHIVED,
        "K2": ACTIVE,
        ("K1", "M"): ARCHIVED,
        ("K2", "M"): ACTIVE,
        ("K2", "L"): ACTIVE,
    }
    assert logged(db) == [(11, STATE_COLUMN, "active", "deleted", "pull")]


def test_a_gone_subitem_is_archived_and_its_line_planned_again(db: Database) -> None:
    settle(db, [], [MissingRow(32, "K2", "M", "archived")], "recreate")
    assert states(db)[("K2", "M")] == ARCHIVED and states(db)[("K2", "L")] == ACTIVE
    assert hashes(db) == {"K1": "h-K1", "K2": None}


def test_flag_writes_nothing_and_an_item_moved_elsewhere_is_only_reported(
    db: Database,
) -> None:
    gone = [MissingRow(11, "K1", None, "deleted")]
    moved = [MissingRow(12, "K2", None, "active")]
    assert settle(db, gone, [], "flag") == (gone, [])
    assert settle(db, moved, [], "recreate") == (moved, [])
    assert set(states(db).values()) == {ACTIVE} and logged(db) == []


def test_a_missing_items_subitems_are_not_reported_on_their_own(db: Database) -> None:
    items = [MissingRow(12, "K2", None, "deleted")]
    subitems = [MissingRow(31, "K1", "M", "deleted"), MissingRow(32, "K2", "M", "deleted")]
    assert settle(db, items, subitems, "recreate") == (items, subitems[:1])
    assert [row[0] for row in logged(db)] == [12, 31]
    assert outside_lines(subitems, items) == subitems[:1]


def test_handle_missing_applies_to_archived_and_deleted_only(db: Database) -> None:
    rows = [MissingRow(31, "K1", "M", "active"), MissingRow(32, "K2", "M", "unknown")]
    with db.engine.begin() as connection:
        handle_missing(
            connection,
            db,
            BOARD,
            rows,
            subitems=True,
            policy="recreate",
            source=Source.WEBHOOK,
            now=NOW,
        )
    assert set(states(db).values()) == {ACTIVE} and hashes(db)["K1"] == "h-K1"


def test_restored_rows_are_active_again_planned_again_and_logged(db: Database) -> None:
    settle(db, [MissingRow(12, "K2", None, "archived")], [], "recreate")
    add_item(db, "K3", 13, state=ARCHIVED, board_id=OTHER_BOARD)
    with db.engine.begin() as connection:
        parents = archived_subitems_of(connection, db, BOARD, [11, 12])
        restored = restore_rows(connection, db, BOARD, [12, 13, 32], NOW)
    assert parents == [32, 33]
    assert sorted((r.monday_id, r.size_label, r.state) for r in restored) == [
        (12, None, "active"),
        (32, "M", "active"),
    ]
    assert states(db)["K2"] == ACTIVE and states(db)[("K2", "L")] == ARCHIVED
    assert hashes(db)["K2"] is None
    assert [(r[0], r[2], r[3], r[4]) for r in logged(db)[1:]] == [
        (12, "archived", "active", "webhook"),
        (32, "archived", "active", "webhook"),
    ]


def test_rows_of_names_the_active_mirror_rows_with_mondays_state(db: Database) -> None:
    with db.engine.connect() as connection:
        items, subitems = rows_of(connection, db, BOARD, [11, 31, 99], {11: "archived"})
    assert items == [MissingRow(11, "K1", None, "archived")]
    assert subitems == [MissingRow(31, "K1", "M", "deleted")]  # monday did not answer: deleted


def test_a_row_takes_mondays_state_or_deleted() -> None:
    row = MissingRow(11, "K1", None, "unknown")
    assert row.with_state({11: "archived"}).state == "archived"
    assert row.with_state({}).state == "deleted"
    assert row.as_dict() == {"monday_id": 11, "order_key": "K1", "size": None, "state": "unknown"}
