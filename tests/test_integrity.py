"""Integrity under real-world data (issue 10): lines that move between POs, seasons and
customers stay the same item; one key under two scopes is rejected, not flip-flopped; an
emptied scope is not archived by accident; ``--limit`` still counts unchanged lines."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_check import assert_board_matches_source
from helpers.board_support import FCST_QTY, Person, active_items, active_subitems
from helpers.crashes import Crash, CrashingTransport
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient, documents
from ordersync.push.plan import MASS_ARCHIVE_FLOOR
from ordersync.push.source import Scope
from ordersync.states import MirrorState
from ordersync.sync import SyncOutcome, run_sync

PO_COLUMN, CUSTOMER_COLUMN, SEASON_COLUMN = (
    "text_mkr5ej2x",
    "dropdown_mkr542p2",
    "dropdown_mkr5rgs6",
)
GREYSON = Scope("GREYSON", "4755")


def source(db: Database) -> sa.Table:
    return sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)


def keys_of(db: Database, scope: Scope) -> list[str]:
    table = source(db)
    with db.engine.connect() as connection:
        customers = [
            r[0]
            for r in connection.execute(sa.select(table.c["CUSTOMER NAME"]).distinct())
            if r[0] and r[0].upper().startswith(scope.customer)
        ]
        where = [table.c["CUSTOMER NAME"].in_(customers)]
        if scope.po_number:
            where.append(table.c["PO NUMBER"] == scope.po_number)
        return list(
            connection.execute(
                sa.select(table.c["AAG ORDER NUMBER"])
                .where(*where)
                .order_by(table.c["AAG ORDER NUMBER"])
            ).scalars()
        )


def edit(db: Database, key: str, **values: object) -> None:
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.update().where(table.c["AAG ORDER NUMBER"] == key).values(values))


def delete(db: Database, keys: list[str]) -> None:
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c["AAG ORDER NUMBER"].in_(keys)))


def copy_row(db: Database, key: str, **changes: object) -> None:
    """A second source row with the same key (another customer, PO or season)."""
    table = source(db)
    with db.engine.begin() as connection:
        row = dict(
            connection.execute(sa.select(table).where(table.c["AAG ORDER NUMBER"] == key))
            .mappings()
            .one()
        )
        row.update(changes)
        connection.execute(table.insert().values(row))


def sync(db: Database, config: SyncConfig, client: MondayClient, scope: Scope, **kw: Any) -> Any:
    return run_sync(db, config, client, scope, **kw)


def mirror(db: Database, key: str) -> sa.Row:
    items = db.tables.items
    with db.engine.connect() as connection:
        return connection.execute(sa.select(items).where(items.c.order_key == key)).one()


def batch_count(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(db.tables.batches)
            ).scalar_one()
        )


# ------------------------------------------------------------------------------ moves
MOVES = {
    # name: (source columns changed, the new scope, the old scope, board column → new text)
    "po": ({"PO NUMBER": "4799"}, Scope("GREYSON", "4799"), GREYSON, {PO_COLUMN: "4799"}),
    "season": (
        {"CUSTOMER SEASON": "2026 SPRING"},
        Scope("GREYSON", "4755", "2026 SPRING"),
        Scope("GREYSON", "4755", "2025 FALL"),
        {SEASON_COLUMN: "2026 SPRING"},
    ),
    "customer": (
        {"CUSTOMER NAME": "RHONE", "PO NUMBER": "R-NEW"},
        Scope("RHONE", "R-NEW"),
        GREYSON,
        {CUSTOMER_COLUMN: "RHONE", PO_COLUMN: "R-NEW"},
    ),
    "customer-alias": (  # GREYSON → GREYSON CLOTHIERS: the same canonical customer
        {"CUSTOMER NAME": "GREYSON CLOTHIERS"},
        Scope("GREYSON CLOTHIERS", "4755"),
        GREYSON,
        {CUSTOMER_COLUMN: "GREYSON"},
    ),
}


@pytest.mark.parametrize("order", ["new-scope-first", "old-scope-first"])
@pytest.mark.parametrize("move", list(MOVES))
def test_a_moved_line_is_the_same_item_updated(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    move: str,
    order: str,
) -> None:
    changes, new_scope, old_scope, shown = MOVES[move]
    assert sync(db, config, client, old_scope).exit_code == 0
    key = keys_of(db, GREYSON)[3]
    item_id = active_items(emulator)[key]["id"]
    person = Person(emulator)
    person.set(item_id, {FCST_QTY: "77"})  # typed on monday: must survive the move
    edit(db, key, **changes)

    emulator.reset_stats()
    dry = sync(db, config, client, new_scope, dry_run=True)
    group = f"{config.canonical_customer(new_scope.customer)} {new_scope.season or '2025 FALL'}"
    moves_group = group != item_group(emulator, item_id)
    assert dry.plan.item_moves == int(moves_group)
    if moves_group:  # the dry run shows the move
        (change,) = dry.plan.preview
        assert ("Group", item_group(emulator, item_id), group) in change.columns
    scopes = [new_scope, old_scope] if order == "new-scope-first" else [old_scope, new_scope]
    outcomes = [sync(db, config, client, scope) for scope in scopes]
    assert [o.exit_code for o in outcomes] == [0, 0]
    assert emulator.stats.mutations.get("create_item", 0) == 0, "the moved line was re-created"
    assert emulator.stats.mutations.get("archive_item", 0) == 0, "the moved line was archived"

    item = active_items(emulator)[key]
    assert item["id"] == item_id
    assert item["texts"][FCST_QTY] == "77"
    assert item["group_title"] == group
    assert emulator.stats.mutations.get("move_item_to_group", 0) == int(moves_group)
    # a move is an item update everywhere: the dry run's --json, the batch, what was done
    done = outcomes[scopes.index(new_scope)].as_dict()
    planned = (done["batch"] or {}).get("planned_item_updates", 0)
    assert dry.as_dict()["planned"]["items_update"] == planned == done["items_updated"]
    assert done["items_updated"] >= 2 * moves_group  # the columns' update and the move
    for column_id, text in shown.items():
        assert item["texts"][column_id] == text
    row = mirror(db, key)
    assert (row.monday_item_id, row.state) == (item_id, MirrorState.ACTIVE)
    assert row.group_title == group
    assert (row.customer, row.po_number, row.season) == (
        config.canonical_customer(new_scope.customer),
        new_scope.po_number,
        changes.get("CUSTOMER SEASON", "2025 FALL"),
    )
    emulator.reset_stats()
    for scope in (old_scope, new_scope, old_scope):
        assert sync(db, config, client, scope).status == "NO_CHANGES"
    assert sum(emulator.stats.mutations.values()) == 0


def item_group(emulator: Emulator, item_id: int) -> str:
    return next(
        str(i["group_title"]) for i in emulator.items(CMS_BOARD_ID) if int(i["id"]) == item_id
    )


@pytest.mark.parametrize("when", ["crash_before", "crash_after"])
def test_a_group_move_is_journalled_and_done_once(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock, when: str
) -> None:
    """Killed around move_item_to_group (and monday forgetting every key): the next sync
    finishes the move, the new group exists once, nothing is created or archived."""
    emulator.forget_idempotency_keys(remember=False)
    transport = CrashingTransport(emulator, {("move_item_to_group", 1): when})
    client = MondayClient("http://e/v2", "t0ken-for-tests", transport=transport, clock=clock)
    assert sync(db, config, client, GREYSON).exit_code == 0
    keys = keys_of(db, GREYSON)[:3]
    for key in keys:
        edit(db, key, **{"CUSTOMER SEASON": "2026 SPRING"})
    season = Scope("GREYSON", "4755", "2026 SPRING")
    with pytest.raises(Crash):
        sync(db, config, client, season)
    emulator.reset_stats()
    assert sync(db, config, client, season).exit_code == 0
    assert sync(db, config, client, season).status == "NO_CHANGES"
    moved = {k: v for k, v in active_items(emulator).items() if k in keys}
    assert {item["group_title"] for item in moved.values()} == {"GREYSON 2026 SPRING"}
    titles = [g.title for g in emulator.store.board(CMS_BOARD_ID).groups.values()]
    assert titles.count("GREYSON 2026 SPRING") == 1
    assert emulator.stats.mutations.get("create_item", 0) == 0
    assert emulator.stats.mutations.get("archive_item", 0) == 0
    assert_board_matches_source(db, config, emulator, GREYSON)  # every season of the PO


def test_a_line_moved_back_and_forth_stays_one_item(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    other = Scope("GREYSON", "4702")
    sync(db, config, client, GREYSON)
    sync(db, config, client, other)
    key = keys_of(db, GREYSON)[0]
    item_id = active_items(emulator)[key]["id"]
    emulator.reset_stats()
    for po, first in (("4702", GREYSON), ("4755", other), ("4702", other)):
        edit(db, key, **{"PO NUMBER": po})
        for scope in (first, other if first == GREYSON else GREYSON):
            assert sync(db, config, client, scope).exit_code == 0
        assert active_items(emulator)[key]["texts"][PO_COLUMN] == po
    assert active_items(emulator)[key]["id"] == item_id
    assert emulator.stats.mutations.get("create_item", 0) == 0
    assert emulator.stats.mutations.get("archive_item", 0) == 0


# ------------------------------------------------------------------------------ duplicates
@pytest.mark.parametrize(
    ("other", "changes"),
    [
        (Scope("RHONE", "R-NEW"), {"CUSTOMER NAME": "RHONE", "PO NUMBER": "R-NEW"}),
        (Scope("GREYSON", "4799"), {"PO NUMBER": "4799"}),
        (
            Scope("GREYSON", "4755", "2026 SPRING"),
            {"CUSTOMER SEASON": "2026 SPRING"},
        ),
    ],
    ids=["another-customer", "another-po", "another-season"],
)
def test_one_key_under_two_scopes_is_rejected_not_flip_flopped(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    other: Scope,
    changes: dict[str, str],
) -> None:
    owner_scope = GREYSON if other.season is None else Scope("GREYSON", "4755", "2025 FALL")
    assert sync(db, config, client, owner_scope).exit_code == 0
    key = keys_of(db, GREYSON)[5]
    before = active_items(emulator)[key]
    copy_row(db, key, **changes, **{"CUSTOMER STYLE": "INTRUDER"})

    emulator.reset_stats()
    for _ in range(2):  # the same answer every time: never delivered over the owner
        intruder = sync(db, config, client, other)
        assert intruder.exit_code == 3
        assert sync(db, config, client, owner_scope).status == "NO_CHANGES"
    assert sum(emulator.stats.mutations.values()) == 0
    after = active_items(emulator)[key]
    assert (after["id"], after["name"], after["texts"]) == (
        before["id"],
        before["name"],
        before["texts"],
    )
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        messages = (
            connection.execute(
                sa.select(errors.c.message).where(
                    errors.c.order_key == key, errors.c.error_code == "DUPLICATE_KEY"
                )
            )
            .scalars()
            .all()
        )
    assert len(messages) == 2
    assert "customer GREYSON PO 4755" in messages[0]
    other_customer = config.canonical_customer(other.customer)
    assert f"customer {other_customer} PO {other.po_number}" in messages[0]

    delete_owner = source(db)  # the owner's row goes: now it is a move, delivered once
    with db.engine.begin() as connection:
        connection.execute(
            delete_owner.delete().where(
                delete_owner.c["AAG ORDER NUMBER"] == key,
                delete_owner.c["CUSTOMER STYLE"] != "INTRUDER",
            )
        )
    assert sync(db, config, client, other).exit_code == 0
    moved = active_items(emulator)[key]
    assert moved["id"] == before["id"] and moved["name"].startswith("INTRUDER")
    assert sync(db, config, client, owner_scope).status == "NO_CHANGES"


# ------------------------------------------------------------------------------ mass archive
def refused(outcome: SyncOutcome) -> bool:
    return outcome.status == "REFUSED" and outcome.exit_code == 1


@pytest.mark.parametrize(
    ("gone", "allowed"),
    [(69, False), (40, False), (35, False), (34, True), (3, True)],
)
def test_an_emptied_scope_is_not_archived_by_accident(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    gone: int,
    allowed: bool,
) -> None:
    assert sync(db, config, client, GREYSON).exit_code == 0
    delete(db, keys_of(db, GREYSON)[:gone])
    batches = batch_count(db)
    emulator.reset_stats()

    dry = sync(db, config, client, GREYSON, dry_run=True)
    outcome = sync(db, config, client, GREYSON)
    if allowed:
        assert (dry.exit_code, outcome.exit_code, outcome.plan.item_archives) == (0, 0, gone)
        return
    assert refused(dry) and refused(outcome)
    assert outcome.plan.refused is not None
    assert f"archive {gone} of the 69 items" in outcome.plan.refused
    assert "--allow-mass-archive" in outcome.plan.refused
    assert batch_count(db) == batches, "something was staged"
    assert sum(emulator.stats.mutations.values()) == 0
    assert len(active_items(emulator)) == 69

    forced = sync(db, config, client, GREYSON, allow_mass_archive=True)
    assert (forced.exit_code, forced.report.items_archived if forced.report else 0) == (0, gone)


def test_a_small_scope_may_lose_a_few_lines(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """Up to MASS_ARCHIVE_FLOOR archives are never refused; one more of six is."""
    small = Scope("TRACK SMITH", "4755")  # 6 lines
    sync(db, config, client, small)
    keys = keys_of(db, small)
    assert len(keys) == MASS_ARCHIVE_FLOOR + 1
    delete(db, keys[:MASS_ARCHIVE_FLOOR])
    assert sync(db, config, client, small).plan.item_archives == MASS_ARCHIVE_FLOOR
    delete(db, keys[MASS_ARCHIVE_FLOOR:])
    assert sync(db, config, client, small).plan.item_archives == 1  # all of one: a few
    lenient = config.model_copy(
        update={"delivery": config.delivery.model_copy(update={"max_archive_share": 1.0})}
    )
    sync(db, config, client, GREYSON)
    delete(db, keys_of(db, GREYSON))
    assert refused(sync(db, config, client, GREYSON))
    assert sync(db, lenient, client, GREYSON).plan.item_archives == 69


# ------------------------------------------------------------------------------ --limit
def test_limit_still_counts_unchanged_lines(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    sync(db, config, client, GREYSON)
    for key in keys_of(db, GREYSON)[:3]:
        edit(db, key, **{"CUSTOMER PRICE": "12.34"})
    dry = sync(db, config, client, GREYSON, dry_run=True, limit=1)
    outcome = sync(db, config, client, GREYSON, limit=1)
    assert (dry.plan.unchanged, dry.plan.item_updates) == (66, 1)
    assert (outcome.plan.unchanged, outcome.plan.item_updates) == (66, 1)
    assert json.loads(json.dumps(outcome.as_dict(), default=str))["unchanged"] == 66


# ------------------------------------------------------------------------------ adoption
ORDER_TYPE, PRICE = "dropdown_mkr518fc", "numeric_mkr5cact"
SIZE, ORDER_QTY = "dropdown_mkrak7qp", "numeric_mkra7j8e"


def forget_everything(db: Database) -> None:
    """ordersync's own tables emptied: a fresh database against a board that holds it all."""
    t = db.tables
    with db.engine.begin() as connection:
        for table in (
            t.items,
            t.subitems,
            t.staged_items,
            t.staged_subitems,
            t.item_errors,
            t.subitem_errors,
            t.journal,
            t.batches,
        ):
            connection.execute(table.delete())


def subitems_of(emulator: Emulator, item_id: int) -> dict[str, dict[str, Any]]:
    return {s["texts"][SIZE]: s for s in active_subitems(emulator) if s["parent_id"] == item_id}


@pytest.mark.parametrize(
    "edits", ["none", "values", "sizes", "everything"], ids=lambda e: f"board-differs-{e}"
)
def test_adopted_items_are_corrected_in_the_same_sync(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator, edits: str
) -> None:
    assert sync(db, config, client, GREYSON).exit_code == 0
    keys = keys_of(db, GREYSON)
    items = active_items(emulator)
    person = Person(emulator)
    if edits in ("values", "everything"):
        person.set(items[keys[0]]["id"], {ORDER_TYPE: {"labels": ["CANCELLED"]}})
        person.set(items[keys[1]]["id"], {"name": "RENAMED BY HAND", PRICE: "1.11"})
        person.set(items[keys[2]]["id"], {PRICE: None})
        elsewhere = person.client.mutate(
            [documents.create_group("a1", board_id=CMS_BOARD_ID, group_name="ELSEWHERE")],
            idempotency_key="group-by-hand",
        )["a1"].data
        assert elsewhere is not None
        person.client.mutate(
            [
                documents.move_item_to_group(
                    "a1", item_id=items[keys[6]]["id"], group_id=elsewhere["id"]
                )
            ],
            idempotency_key="move-by-hand",
        )
    if edits in ("sizes", "everything"):
        for n, key in enumerate(keys[3:6]):
            subitem = next(iter(subitems_of(emulator, items[key]["id"]).values()))
            if n == 0:  # M=36 vs 30: another quantity
                person.set(subitem["id"], {ORDER_QTY: "36"}, subitem=True)
            elif n == 1:  # a size gone from the board
                person.archive(subitem["id"])
            else:  # a size the source does not have
                person.client.mutate(
                    [
                        documents.create_subitem(
                            "a1",
                            parent_item_id=items[key]["id"],
                            item_name="XXXL",
                            column_values={SIZE: {"labels": ["3XL"]}, ORDER_QTY: "5"},
                            create_labels_if_missing=True,
                        )
                    ],
                    idempotency_key="by-hand",
                )
    forget_everything(db)
    emulator.reset_stats()

    outcome = sync(db, config, client, GREYSON)
    assert outcome.exit_code == 0, outcome.as_dict()
    assert outcome.report is not None and outcome.report.items_adopted == 69
    assert emulator.stats.mutations.get("create_item", 0) == 0
    assert_board_matches_source(db, config, emulator, GREYSON)
    if edits == "none":
        assert sum(emulator.stats.mutations.values()) == 0
    emulator.reset_stats()
    assert sync(db, config, client, GREYSON).status == "NO_CHANGES"
    assert sum(emulator.stats.mutations.values()) == 0


@pytest.mark.parametrize("synced", ["sqlite"], indirect=True)
def test_every_new_statement_compiles_for_sql_server(
    synced: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """Moves, duplicate keys across scopes, archives looked up in the source, adoption with
    differences: every statement they issue compiles for mssql (after the first sync, the
    ``synced`` template)."""
    from sqlalchemy.dialects import mssql

    db = synced
    seen: list[sa.ClauseElement] = []

    def capture(conn, clauseelement, multiparams, params, execution_options):  # type: ignore[no-untyped-def]
        seen.append(clauseelement)

    sa.event.listen(db.engine, "before_execute", capture)
    keys = keys_of(db, GREYSON)
    edit(db, keys[0], **{"CUSTOMER SEASON": "2026 SPRING"})
    copy_row(db, keys[1], **{"PO NUMBER": "4799"})
    delete(db, keys[2:4])
    for scope in (Scope("GREYSON", "4799"), GREYSON, Scope("GREYSON", "4755", "2026 SPRING")):
        sync(db, config, client, scope)
    Person(emulator).set(active_items(emulator)[keys[5]]["id"], {PRICE: "3.21"})
    forget_everything(db)
    assert sync(db, config, client, GREYSON).exit_code in (0, 3)
    sa.event.remove(db.engine, "before_execute", capture)
    assert any("trim" in str(s).lower() for s in seen if isinstance(s, sa.Select))
    for statement in seen:
        if isinstance(statement, sa.ClauseElement):
            assert str(statement.compile(dialect=mssql.dialect()))
