"""``rows``: each kind of staged row, on its own: how its pending rows are read (key order, at
most a request's worth), screened (refused labels, rows sent too often, changes needing no
request), turned into a mutation, promoted into the mirror when done, and written to the ERR
table when refused (the line's hash forgotten, so the next plan looks at it again)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.support import backend_of
from helpers.templates import Builder, Template, copy_of
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.errors import PermanentMondayError, RowRejected
from ordersync.monday import MondayClient, Mutation
from ordersync.push.board import BoardContext
from ordersync.push.plan import plan_batch
from ordersync.push.rows import (
    MAX_ATTEMPTS,
    ItemArchives,
    ItemCreates,
    ItemMoves,
    ItemUpdates,
    SubitemArchives,
    SubitemCreates,
    SubitemUpdates,
)
from ordersync.push.source import Scope
from ordersync.rejections import rejected_rows
from ordersync.states import Action, MirrorState, RowStatus, Stage

GREYSON = Scope("GREYSON", "4755")
LINES = 3  # lines staged per test
UOM = "color_mkr5yf27"  # a status column whose labels may not be created


@pytest.fixture
def board(client: MondayClient, config: SyncConfig) -> BoardContext:
    return BoardContext.load(client, config, CMS_BOARD_ID)


def stage_first_lines(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> str:
    """A staged batch: creates for the first ``LINES`` lines of GREYSON PO 4755, with sizes."""
    result = plan_batch(db, config, GREYSON, limit=LINES)
    assert result.batch_id is not None and result.items == LINES
    return result.batch_id


@pytest.fixture(params=["sqlite", "postgres"])
def db(
    request: pytest.FixtureRequest,
    templates: Callable[[str, Builder | None], Template],
    tmp_path: Path,
) -> Iterator[Database]:
    """The demo database with ``batch`` staged: a copy of a template staged once per session."""
    with copy_of(templates(backend_of(request), stage_first_lines), None, tmp_path) as database:
        yield database


@pytest.fixture
def batch(
    request: pytest.FixtureRequest,
    db: Database,
    templates: Callable[[str, Builder | None], Template],
) -> str:
    """The id of the batch staged in ``db`` (``stage_first_lines``)."""
    return str(templates(request.node.callspec.params["db"], stage_first_lines).made)


def _parts(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext
) -> tuple[Database, SyncConfig, MondayClient, BoardContext]:
    return db, config, client, board


def _arguments(mutation: Mutation) -> dict[str, Any]:
    return {a.name: a.value for a in mutation.arguments}


def _one(db: Database, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.RowMapping:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(table).where(*where)).mappings().one()


def _all(db: Database, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[sa.RowMapping]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(table).where(*where)).mappings())


def _counter(db: Database, batch_id: str, name: str) -> int:
    batches = db.tables.batches
    return int(_one(db, batches, batches.c.batch_id == batch_id)[name])


def _stage_item(db: Database, batch_id: str, action: Action, key: str, **values: Any) -> str:
    """A staged item row of ``action`` (plans stage them the same way)."""
    stg_id = str(uuid.uuid4())
    row = {"group_title": "G", "column_values": "{}", "row_hash": "h2", **values}
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.staged_items.insert().values(
                stg_id=stg_id,
                batch_id=batch_id,
                action=action,
                order_key=key,
                status=RowStatus.PENDING,
                attempts=0,
                created_at=utcnow(),
                updated_at=utcnow(),
                **row,
            )
        )
    return stg_id


def _stage_subitem(
    db: Database, batch_id: str, row: sa.Row, action: Action, qty: int | None, subitem_id: int
) -> str:
    """A change to the size of ``row`` (a staged subitem create) after it was created."""
    stg_id = str(uuid.uuid4())
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.staged_subitems.insert().values(
                stg_id=stg_id,
                batch_id=batch_id,
                parent_stg_id=row.parent_stg_id,
                action=action,
                order_key=row.order_key,
                size_label=row.size_label,
                qty=qty,
                column_values="{}",
                row_hash=f"h-{qty}",
                status=RowStatus.PENDING,
                attempts=0,
                created_at=utcnow(),
                monday_subitem_id=subitem_id,
            )
        )
    return stg_id


def _promote_creates(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> list[sa.Row]:
    """The batch's item creates recorded DONE under ids 1001…, as if monday had made them."""
    creates = ItemCreates(*_parts(db, config, client, board))
    rows = creates.pending(batch)
    with db.engine.begin() as connection:
        for n, row in enumerate(rows):
            creates.record(connection, row, 1001 + n, RowStatus.DONE)
    return rows


# ------------------------------------------------------------------------------ reading
def test_pending_rows_come_in_key_order_a_request_at_a_time(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    delivery = config.delivery.model_copy(update={"items_per_request": 2})
    two = config.model_copy(update={"delivery": delivery})
    creates = ItemCreates(db, two, client, board)

    first = creates.pending(batch)

    assert len(first) == 2 and creates.count_pending(batch) == LINES
    everything = ItemCreates(*_parts(db, config, client, board)).pending(batch)
    keys = [row.order_key for row in everything]
    assert keys == sorted(keys) and len(keys) == LINES
    assert [row.stg_id for row in first] == [row.stg_id for row in everything[:2]]
    assert ItemUpdates(*_parts(db, config, client, board)).pending(batch) == []  # per action
    assert creates.rows_by_id([first[0].stg_id, "not-a-row"])[0].stg_id == first[0].stg_id


def test_mark_sent_names_the_request_and_counts_the_attempt(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    creates = ItemCreates(*_parts(db, config, client, board))
    row = creates.pending(batch)[0]
    staged = db.tables.staged_items

    creates.mark_sent("req-1", [row.stg_id])
    creates.mark_sent("req-2", [row.stg_id])

    sent = _one(db, staged, staged.c.stg_id == row.stg_id)
    assert (sent["request_id"], sent["attempts"]) == ("req-2", 2)
    assert sent["status"] == RowStatus.PENDING


# ------------------------------------------------------------------------------ mutations
def test_each_kind_builds_its_mutation(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    parts = _parts(db, config, client, board)
    create = ItemCreates(*parts).pending(batch)[0]
    mutation = ItemCreates(*parts).mutation("i1", create)
    assert (mutation.alias, mutation.field) == ("i1", "create_item")
    arguments = _arguments(mutation)
    assert arguments["item_name"] == create.item_name
    assert arguments["board_id"] == str(CMS_BOARD_ID)
    assert json.loads(arguments["column_values"]) == json.loads(create.column_values)

    _promote_creates(db, config, client, board, batch)
    subitem = SubitemCreates(*parts).pending(batch)[0]
    mutation = SubitemCreates(*parts).mutation("s1", subitem)
    assert mutation.field == "create_subitem"
    assert _arguments(mutation)["parent_item_id"] == str(subitem.parent_item_id)
    assert _arguments(mutation)["item_name"] == subitem.size_label

    changed = {"text_mkr5kbc6": "LA"}
    _stage_item(
        db, batch, Action.UPDATE, "K1", monday_item_id=77, column_values=json.dumps(changed)
    )
    _stage_item(db, batch, Action.ARCHIVE, "K2", monday_item_id=78)
    group_title, group_id = next(iter(board.group_ids.items()))
    _stage_item(db, batch, Action.MOVE, "K3", monday_item_id=79, group_title=group_title)
    update = ItemUpdates(*parts).mutation("u1", ItemUpdates(*parts).pending(batch)[0])
    archive = ItemArchives(*parts).mutation("a1", ItemArchives(*parts).pending(batch)[0])
    move = ItemMoves(*parts).mutation("m1", ItemMoves(*parts).pending(batch)[0])
    assert update.field == "change_multiple_column_values"
    assert _arguments(update)["item_id"] == "77"
    assert json.loads(_arguments(update)["column_values"]) == changed
    assert (archive.field, _arguments(archive)["item_id"]) == ("archive_item", "78")
    assert move.field == "move_item_to_group"
    assert _arguments(move) == {"item_id": "79", "group_id": group_id}


def test_kinds_name_distinct_journal_kinds_and_aliases(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    parts = _parts(db, config, client, board)
    kinds = [
        kind(*parts)
        for kind in (
            ItemCreates,
            ItemUpdates,
            ItemMoves,
            ItemArchives,
            SubitemCreates,
            SubitemUpdates,
            SubitemArchives,
        )
    ]
    assert len({k.journal_kind for k in kinds}) == len(kinds)
    assert len({k.alias for k in kinds}) == len(kinds)  # an alias names its kind in answers
    # progress and operation names come from the journal kind
    assert [(k.phase, k.operation) for k in (kinds[0], kinds[6])] == [
        ("create items", "CreateItems"),
        ("archive subitems", "ArchiveSubitems"),
    ]
    rows = kinds[0].pending(batch)
    assert kinds[0].aliases(rows) == {"i1": rows[0], "i2": rows[1], "i3": rows[2]}
    assert [k.creates for k in kinds] == [True, False, False, False, True, False, False]


# ------------------------------------------------------------------------------ promotion
def test_a_created_item_is_promoted_into_the_mirror(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    creates = ItemCreates(*_parts(db, config, client, board))
    row = creates.pending(batch)[0]

    with db.engine.begin() as connection:
        creates.record(connection, row, 4242, RowStatus.DONE)

    staged = db.tables.staged_items
    done = _one(db, staged, staged.c.stg_id == row.stg_id)
    assert (done["status"], done["monday_item_id"]) == (RowStatus.DONE, 4242)
    items = db.tables.items
    mirror = _one(db, items, items.c.order_key == row.order_key)
    assert mirror["monday_item_id"] == 4242 and mirror["board_id"] == CMS_BOARD_ID
    assert mirror["row_hash"] == row.row_hash and mirror["state"] == MirrorState.ACTIVE
    assert (mirror["item_name"], mirror["group_title"]) == (row.item_name, row.group_title)
    assert creates.count_pending(batch) == LINES - 1


def test_a_created_subitem_is_promoted_under_its_parent(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    _promote_creates(db, config, client, board, batch)
    creates = SubitemCreates(*_parts(db, config, client, board))
    row = creates.pending(batch)[0]

    with db.engine.begin() as connection:
        creates.record(connection, row, 9001, RowStatus.DONE)

    subitems = db.tables.subitems
    mirror = _one(
        db, subitems, subitems.c.order_key == row.order_key, subitems.c.size_label == row.size_label
    )
    assert (mirror["monday_subitem_id"], mirror["monday_parent_item_id"]) == (
        9001,
        row.parent_item_id,
    )
    assert (mirror["qty"], mirror["row_hash"]) == (row.qty, row.row_hash)


def test_an_update_merges_the_changed_columns_into_the_mirror(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    before = json.loads(row.column_values)
    kept, cleared = list(before)[:2]
    change = {cleared: None, "text_new": "added", "name": "ignored"}
    _stage_item(
        db,
        batch,
        Action.UPDATE,
        row.order_key,
        monday_item_id=1001,
        item_name="renamed",
        column_values=json.dumps(change),
    )
    updates = ItemUpdates(*_parts(db, config, client, board))
    update = updates.pending(batch)[0]

    with db.engine.begin() as connection:
        updates.record(connection, update, 1001, RowStatus.DONE)

    items = db.tables.items
    mirror = _one(db, items, items.c.order_key == row.order_key)
    values = json.loads(mirror["column_values"])
    assert values[kept] == before[kept] and cleared not in values
    assert values["text_new"] == "added" and "name" not in values
    assert (mirror["item_name"], mirror["row_hash"]) == ("renamed", "h2")


def test_a_subitem_update_promotes_its_quantity_and_an_archive_its_state(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    _promote_creates(db, config, client, board, batch)
    parts = _parts(db, config, client, board)
    creates = SubitemCreates(*parts)
    first, second = creates.pending(batch)[:2]
    with db.engine.begin() as connection:
        creates.record(connection, first, 9001, RowStatus.DONE)
        creates.record(connection, second, 9002, RowStatus.DONE)
    _stage_subitem(db, batch, first, Action.UPDATE, 999, 9001)
    _stage_subitem(db, batch, second, Action.ARCHIVE, None, 9002)
    updates, archives = SubitemUpdates(*parts), SubitemArchives(*parts)
    [update], [archive] = updates.pending(batch), archives.pending(batch)
    change = updates.mutation("q1", update)
    assert change.field == "change_multiple_column_values"
    assert _arguments(change)["board_id"] == str(board.subitems_board.id)  # not the items board
    assert _arguments(change)["item_id"] == "9001"
    assert (
        archives.mutation("x1", archive).field,
        _arguments(archives.mutation("x1", archive)),
    ) == (
        "archive_item",
        {"item_id": "9002"},
    )
    with db.engine.begin() as connection:
        updates.record(connection, update, 9001, RowStatus.DONE)
        archives.record(connection, archive, 9002, RowStatus.DONE)

    subitems = db.tables.subitems
    updated = _one(db, subitems, subitems.c.monday_subitem_id == 9001)
    assert (updated["qty"], updated["row_hash"]) == (999, "h-999")
    archived = _one(db, subitems, subitems.c.monday_subitem_id == 9002)
    assert archived["state"] == MirrorState.ARCHIVED


def test_an_archived_item_is_archived_in_the_mirror_with_its_subitems(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    parts = _parts(db, config, client, board)
    creates = SubitemCreates(*parts)
    with db.engine.begin() as connection:
        for n, sub in enumerate(r for r in creates.pending(batch) if r.order_key == row.order_key):
            creates.record(connection, sub, 9000 + n, RowStatus.DONE)
    _stage_item(db, batch, Action.ARCHIVE, row.order_key, monday_item_id=1001)
    archives = ItemArchives(*parts)

    with db.engine.begin() as connection:
        archives.record(connection, archives.pending(batch)[0], 1001, RowStatus.DONE)

    items, subitems = db.tables.items, db.tables.subitems
    assert _one(db, items, items.c.order_key == row.order_key)["state"] == MirrorState.ARCHIVED
    states = {s["state"] for s in _all(db, subitems, subitems.c.order_key == row.order_key)}
    assert states == {MirrorState.ARCHIVED}


def test_a_moved_item_takes_its_new_group_in_the_mirror(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    title, group_id = next((t, g) for t, g in board.group_ids.items() if t != row.group_title)
    _stage_item(db, batch, Action.MOVE, row.order_key, monday_item_id=1001, group_title=title)
    moves = ItemMoves(*_parts(db, config, client, board))

    with db.engine.begin() as connection:
        moves.record(connection, moves.pending(batch)[0], 1001, RowStatus.DONE)

    items = db.tables.items
    mirror = _one(db, items, items.c.order_key == row.order_key)
    assert (mirror["group_title"], mirror["group_id"]) == (title, group_id)
    assert mirror["monday_item_id"] == 1001 and mirror["state"] == MirrorState.ACTIVE


# ------------------------------------------------------------------------------ refusals
def test_a_refused_row_is_failed_with_an_err_row_and_its_hash_forgotten(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    _stage_item(
        db,
        batch,
        Action.UPDATE,
        row.order_key,
        monday_item_id=1001,
        column_values=json.dumps({"text_mkr5kbc6": "LA"}),
    )
    updates = ItemUpdates(*_parts(db, config, client, board))
    update = updates.pending(batch)[0]
    refusal = PermanentMondayError(
        "column is read-only", code="ColumnValueException", http_status=200
    )

    with db.engine.begin() as connection:
        updates.fail(connection, batch, update, refusal)

    staged, errors, items = db.tables.staged_items, db.tables.item_errors, db.tables.items
    failed = _one(db, staged, staged.c.stg_id == update.stg_id)
    assert (failed["status"], failed["error"]) == (RowStatus.FAILED, "column is read-only")
    err = _one(db, errors, errors.c.stg_id == update.stg_id)
    assert (err["error_code"], err["stage"], err["resolved"]) == (
        "ColumnValueException",
        Stage.DELIVER,
        False,
    )
    assert err["order_key"] == row.order_key and err["batch_id"] == batch
    payload = json.loads(err["payload"])
    assert payload["action"] == Action.UPDATE and payload["item_id"] == 1001
    assert payload["column_values"] == {"text_mkr5kbc6": "LA"}
    assert _one(db, items, items.c.order_key == row.order_key)["row_hash"] is None
    assert _counter(db, batch, "items_failed") == 1

    # the line reaches the board later: its rejection is resolved
    _stage_item(db, batch, Action.UPDATE, row.order_key, monday_item_id=1001, row_hash="h3")
    with db.engine.begin() as connection:
        updates.record(connection, updates.pending(batch)[0], 1001, RowStatus.DONE)
    assert _one(db, errors, errors.c.stg_id == update.stg_id)["resolved"]


def test_a_refused_subitem_writes_its_size_and_forgets_its_lines_hash(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    _promote_creates(db, config, client, board, batch)
    creates = SubitemCreates(*_parts(db, config, client, board))
    row = creates.pending(batch)[0]

    with db.engine.begin() as connection:
        creates.fail(connection, batch, row, RowRejected("UNKNOWN_LABEL", "no such size"))

    errors, items = db.tables.subitem_errors, db.tables.items
    err = _one(db, errors, errors.c.stg_id == row.stg_id)
    assert (err["size_label"], err["error_code"]) == (row.size_label, "UNKNOWN_LABEL")
    assert _one(db, items, items.c.order_key == row.order_key)["row_hash"] is None
    assert _counter(db, batch, "subitems_failed") == 1


def test_a_size_refused_once_is_resolved_when_a_later_update_delivers_it(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    _promote_creates(db, config, client, board, batch)
    parts = _parts(db, config, client, board)
    creates, updates = SubitemCreates(*parts), SubitemUpdates(*parts)
    size = creates.pending(batch)[0]
    with db.engine.begin() as connection:
        creates.record(connection, size, 9001, RowStatus.DONE)
    refused = _stage_subitem(db, batch, size, Action.UPDATE, 999, 9001)
    refusal = PermanentMondayError("bad quantity", code="ColumnValueException", http_status=200)
    with db.engine.begin() as connection:
        updates.fail(connection, batch, updates.pending(batch)[0], refusal)
    errors = db.tables.subitem_errors
    assert not _one(db, errors, errors.c.stg_id == refused)["resolved"]
    still_open = rejected_rows(db, config, batch_id=batch, open_only=True)
    assert [r.shown_key for r in still_open] == [f"{size.order_key} size {size.size_label}"]

    _stage_subitem(db, batch, size, Action.UPDATE, 998, 9001)  # the next sync's update
    with db.engine.begin() as connection:
        updates.record(connection, updates.pending(batch)[0], 9001, RowStatus.DONE)
    err = _one(db, errors, errors.c.stg_id == refused)
    assert err["resolved"] and err["resolved_at"] is not None
    assert rejected_rows(db, config, batch_id=batch, open_only=True) == []


def test_an_archive_of_an_item_monday_no_longer_has_is_done(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    stg_id = _stage_item(db, batch, Action.ARCHIVE, row.order_key, monday_item_id=1001)
    archives = ItemArchives(*_parts(db, config, client, board))
    gone = PermanentMondayError("item not found", code="ResourceNotFoundException")

    with db.engine.begin() as connection:
        archives.fail(connection, batch, archives.pending(batch)[0], gone)

    staged, errors = db.tables.staged_items, db.tables.item_errors
    assert _one(db, staged, staged.c.stg_id == stg_id)["status"] == RowStatus.DONE
    assert _all(db, errors, errors.c.stg_id == stg_id) == []


def test_orphaned_subitems_fail_with_their_parent(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    parts = _parts(db, config, client, board)
    item = ItemCreates(*parts).pending(batch)[0]
    with db.engine.begin() as connection:
        ItemCreates(*parts).fail(connection, batch, item, RowRejected("UNKNOWN_LABEL", "no"))

    SubitemCreates(*parts).fail_orphans(batch)

    staged, errors = db.tables.staged_subitems, db.tables.subitem_errors
    orphans = _all(db, staged, staged.c.parent_stg_id == item.stg_id)
    assert orphans and {o["status"] for o in orphans} == {RowStatus.FAILED}
    codes = {e["error_code"] for e in _all(db, errors, errors.c.order_key == item.order_key)}
    assert codes == {"PARENT_FAILED"}
    others = _all(db, staged, staged.c.parent_stg_id != item.stg_id)
    assert others and {o["status"] for o in others} == {RowStatus.PENDING}


# ------------------------------------------------------------------------------ screening
def test_screening_refuses_bad_labels_and_rows_sent_too_often(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    staged = db.tables.staged_items
    creates = ItemCreates(*_parts(db, config, client, board))
    bad_label, too_often, good = creates.pending(batch)
    values = {**json.loads(bad_label.column_values), UOM: {"label": "NO SUCH UNIT"}}
    with db.engine.begin() as connection:
        connection.execute(
            staged.update()
            .where(staged.c.stg_id == bad_label.stg_id)
            .values(column_values=json.dumps(values))
        )
        connection.execute(
            staged.update().where(staged.c.stg_id == too_often.stg_id).values(attempts=MAX_ATTEMPTS)
        )

    sendable = creates.screen(batch, creates.pending(batch))

    assert [row.stg_id for row in sendable] == [good.stg_id]
    errors = db.tables.item_errors
    codes = {e["stg_id"]: e["error_code"] for e in _all(db, errors, errors.c.batch_id == batch)}
    assert codes == {bad_label.stg_id: "UNKNOWN_LABEL", too_often.stg_id: "DELIVERY_UNCONFIRMED"}


def test_an_update_with_nothing_to_send_is_done_without_a_request(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    [row, *_] = _promote_creates(db, config, client, board, batch)
    empty = _stage_item(
        db, batch, Action.UPDATE, row.order_key, monday_item_id=1001, row_hash="sizes"
    )
    updates = ItemUpdates(*_parts(db, config, client, board))

    assert updates.screen(batch, updates.pending(batch)) == []

    staged, items = db.tables.staged_items, db.tables.items
    assert _one(db, staged, staged.c.stg_id == empty)["status"] == RowStatus.DONE
    assert _one(db, items, items.c.order_key == row.order_key)["row_hash"] == "sizes"
    assert client.stats.requests == 2  # the board's two reads, nothing sent


def test_a_move_to_a_group_the_board_lacks_is_refused(
    db: Database, config: SyncConfig, client: MondayClient, board: BoardContext, batch: str
) -> None:
    stg_id = _stage_item(db, batch, Action.MOVE, "K9", monday_item_id=5, group_title="NOWHERE")
    moves = ItemMoves(*_parts(db, config, client, board))

    assert moves.screen(batch, moves.pending(batch)) == []

    errors = db.tables.item_errors
    assert _one(db, errors, errors.c.stg_id == stg_id)["error_code"] == "UNKNOWN_GROUP"
