"""Exactly once: whatever dies or gets lost, the board ends with every item and subitem once.

Crashes are simulated in-process (``crashes.Crash``: the process dies, uncommitted database
work is lost) at every stage boundary and after every kind of mutation; monday's own faults
come from the emulator. After each scenario the same ``sync`` runs again until it completes,
and the board, the mirror and the staged rows must agree with the source exactly.

Every scenario also runs against a monday that keeps no idempotency answer (``forgets``):
monday's cache is not a guarantee (answers over 1 MB, a spent cache budget, a restart), so
what exists must be looked up before a create is resent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.crashes import Crash, CrashingTransport, crash_on_statement, down_for, touches
from helpers.support import PG_URL
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Fault
from ordersync.errors import RetryableMondayError
from ordersync.monday import MondayClient
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.states import JournalState, RowStatus
from ordersync.sync import SyncOutcome, run_sync

KEY_COLUMN, SIZE_COLUMN, QTY_COLUMN = "text_mkr5wya6", "dropdown_mkrak7qp", "numeric_mkra7j8e"
GREYSON = Scope("GREYSON", "4755")


# ------------------------------------------------------------------------------ harness
def sync_until_complete(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    transport: CrashingTransport,
    clock: ManualClock,
    *,
    age_after_crash: bool = False,
    max_runs: int = 10,
) -> tuple[SyncOutcome, int]:
    """Run the same sync until one completes; returns it and how many runs died."""
    deaths = 0
    for _ in range(max_runs):
        client = MondayClient(
            "http://emulator.test/v2", "t0ken-for-tests", transport=transport, clock=clock
        )
        try:
            outcome = run_sync(db, config, client, GREYSON)
        except (Crash, RetryableMondayError):
            deaths += 1
            if age_after_crash:
                down_for(db, clock, 60)
            continue
        finally:
            client.close()
        return outcome, deaths
    raise AssertionError(f"sync did not complete in {max_runs} runs")


def expected_board(db: Database, config: SyncConfig) -> tuple[set[str], dict[tuple[str, str], str]]:
    """Keys and (key, size) → quantity the board must hold: straight from the source."""
    source = reflect_source(db.engine, config)
    keys, sizes = set(), {}
    with db.engine.connect() as connection:
        for row in connection.execute(select_scope(source, config, GREYSON)).mappings():
            keys.add(row["AAG ORDER NUMBER"])
            for size in source.size_columns:
                if row[size]:
                    sizes[(row["AAG ORDER NUMBER"], size)] = str(row[size])
    return keys, sizes


def assert_exactly_once(db: Database, config: SyncConfig, emulator: Emulator) -> None:
    """Board == source, nothing twice, and ordersync's tables agree with the board."""
    items = [i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"]
    keys = [i["texts"][KEY_COLUMN] for i in items]
    assert len(keys) == len(set(keys)), "duplicate items on the board"
    key_of = {i["id"]: i["texts"][KEY_COLUMN] for i in items}
    board_sizes: dict[tuple[str, str], str] = {}
    subitem_ids = {}
    for sub in emulator.items(CMS_SUBITEMS_BOARD_ID):
        if sub["state"] != "active":
            continue
        pair = (key_of[sub["parent_id"]], sub["texts"][SIZE_COLUMN])
        assert pair not in board_sizes, f"duplicate subitem {pair}"
        board_sizes[pair] = sub["texts"][QTY_COLUMN]
        subitem_ids[pair] = int(sub["id"])
    expected_keys, expected_sizes = expected_board(db, config)
    assert set(keys) == expected_keys
    assert board_sizes == expected_sizes

    t = db.tables
    with db.engine.connect() as connection:
        mirror = {r.order_key: r.monday_item_id for r in connection.execute(sa.select(t.items))}
        mirror_subs = {
            (r.order_key, r.size_label): r.monday_subitem_id
            for r in connection.execute(sa.select(t.subitems))
        }
        pending = (
            connection.execute(
                sa.select(sa.func.count())
                .select_from(t.staged_items)
                .where(t.staged_items.c.status == RowStatus.PENDING)
            ).scalar_one()
            + connection.execute(
                sa.select(sa.func.count())
                .select_from(t.staged_subitems)
                .where(t.staged_subitems.c.status == RowStatus.PENDING)
            ).scalar_one()
        )
        sending = connection.execute(
            sa.select(sa.func.count())
            .select_from(t.journal)
            .where(t.journal.c.state == JournalState.SENDING)
        ).scalar_one()
    assert mirror == {i["texts"][KEY_COLUMN]: int(i["id"]) for i in items}
    assert mirror_subs == subitem_ids
    assert pending == 0 and sending == 0


@pytest.fixture(params=[False, True], ids=["monday-caches", "monday-forgets"])
def forgets(request: pytest.FixtureRequest, emulator: Emulator) -> bool:
    """Run with monday's idempotency cache, and with a monday that keeps no key at all."""
    if request.param:
        emulator.forget_idempotency_keys(remember=False)
    return bool(request.param)


# ------------------------------------------------------------------------------ scenarios
@pytest.mark.parametrize("field", ["create_group", "create_item", "create_subitem"])
@pytest.mark.parametrize("when", ["crash_before", "crash_after"])
@pytest.mark.parametrize("aged", [False, True], ids=["resend-same-key", "lookup"])
def test_killed_around_a_mutation(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    field: str,
    when: str,
    aged: bool,
    forgets: bool,
) -> None:
    transport = CrashingTransport(emulator, {(field, 2 if field != "create_group" else 1): when})
    outcome, deaths = sync_until_complete(
        db, config, emulator, transport, clock, age_after_crash=aged
    )
    assert deaths == 1
    assert outcome.exit_code == 0
    assert_exactly_once(db, config, emulator)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="lost_response", match="create_item"),
        Fault(kind="lost_response", match="create_subitem"),
        Fault(kind="timeout", match="create_subitem", after_apply=True),
        Fault(kind="partial_errors", match="create_item"),
        Fault(kind="partial_errors", match="create_subitem"),
        Fault(kind="status", status=502, match="create_subitem"),
        Fault(kind="status", status=423, match="create_item"),
        Fault(kind="status", status=429, match="create_subitem", retry_in_seconds=30),
        Fault(kind="status", status=500, match="create_item", times=3),
    ],
    ids=lambda f: f"{f.kind}-{f.status or ''}-{f.match}",
)
def test_monday_faults_lose_and_duplicate_nothing(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    fault: Fault,
    forgets: bool,
) -> None:
    transport = CrashingTransport(emulator, {(fault.match or "create_item", 1): fault})
    outcome, deaths = sync_until_complete(db, config, emulator, transport, clock)
    assert (outcome.exit_code, deaths) == (0, 0)
    assert_exactly_once(db, config, emulator)


@pytest.mark.parametrize(
    ("table", "kind", "nth", "stage"),
    [
        ("STG_MON_CustMasterSchedule_Subitems", sa.sql.dml.Insert, 1, "while planning"),
        ("MON_BatchProcessing", sa.sql.dml.Insert, 1, "before the batch is recorded"),
        ("STG_MON_CustMasterSchedule", sa.sql.dml.Update, 60, "while recording item answers"),
        ("STG_MON_CustMasterSchedule_Subitems", sa.sql.dml.Update, 1, "between items and subitems"),
        (
            "STG_MON_CustMasterSchedule_Subitems",
            sa.sql.dml.Update,
            130,
            "while recording subitem answers",
        ),
        ("MON_BatchProcessing", sa.sql.dml.Update, 3, "at a stage boundary"),
    ],
)
def test_killed_at_a_database_step(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    table: str,
    kind: type,
    nth: int,
    stage: str,
    forgets: bool,
) -> None:
    transport = CrashingTransport(emulator, {})
    client = MondayClient(
        "http://emulator.test/v2", "t0ken-for-tests", transport=transport, clock=clock
    )
    with crash_on_statement(db.engine, touches(table, kind), nth), pytest.raises(Crash):
        run_sync(db, config, client, GREYSON)
    outcome, deaths = sync_until_complete(db, config, emulator, transport, clock)
    assert (outcome.exit_code, deaths) == (0, 0), stage
    assert_exactly_once(db, config, emulator)


# ------------------------------------------------------------------------------ random
SIZES = ("XS", "S", "M", "L", "XL", "32/30", "ONE SIZE")
ACTIONS = st.sampled_from(
    [
        "crash_before",
        "crash_after",
        Fault(kind="lost_response"),
        Fault(kind="partial_errors"),
        Fault(kind="timeout", after_apply=True),
        Fault(kind="status", status=502),
        Fault(kind="status", status=423),
        Fault(kind="status", status=429, retry_in_seconds=20),
    ]
)
ORDER_BOOKS = st.lists(
    st.dictionaries(st.sampled_from(SIZES), st.integers(min_value=1, max_value=500), max_size=4),
    min_size=1,
    max_size=6,
)


@contextmanager
def fresh_database(backend: str, tmp_dir: str) -> Iterator[Database]:
    if backend == "sqlite":
        database = Database.connect(f"sqlite:///{tmp_dir}/{uuid.uuid4().hex}.db")
        yield database
        database.engine.dispose()
        return
    schema = f"h_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database.connect(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fill_order_book(db: Database, book: list[dict[str, int]]) -> None:
    table = create_source_table(db.engine)
    rows = []
    for n, sizes in enumerate(book, start=1):
        row = {c.name: None for c in table.columns}
        row.update(
            {
                "AAG ORDER NUMBER": f"HYP-{n:05d}",
                "CUSTOMER NAME": "GREYSON" if n % 2 else "GREYSON CLOTHIERS",
                "PO NUMBER": "4755",
                "CUSTOMER SEASON": "2025 FALL",
                "CUSTOMER STYLE": f"GMK{n}",
                "CUSTOMER COLOUR DESCRIPTION": "NAVY",
                "ORDER TYPE": "ACTIVE",
                "UNIT OF MEASURE": "EACH",
                "CUSTOMER PRICE": "nan" if n % 3 == 0 else f"{n}.50",
                **sizes,
            }
        )
        rows.append(row)
    with db.engine.begin() as connection:
        connection.execute(table.insert(), rows)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    book=ORDER_BOOKS,
    schedule=st.dictionaries(st.integers(min_value=1, max_value=16), ACTIONS, max_size=4),
    aged=st.booleans(),
    forgets=st.booleans(),
)
def test_random_fault_schedules(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    config: SyncConfig,
    book: list[dict[str, int]],
    schedule: dict[int, object],
    aged: bool,
    forgets: bool,
) -> None:
    if backend == "postgres":
        from conftest import require_postgres

        require_postgres()
    clock = ManualClock()
    emulator = Emulator(clock=clock, seed=True)
    if forgets:
        emulator.forget_idempotency_keys(remember=False)
    with fresh_database(backend, str(tmp_path_factory.getbasetemp())) as db:
        upgrade(db.engine)
        fill_order_book(db, book)
        transport = CrashingTransport(emulator, schedule)  # type: ignore[arg-type]
        outcome, _ = sync_until_complete(
            db, config, emulator, transport, clock, age_after_crash=aged
        )
        assert outcome.exit_code == 0
        assert_exactly_once(db, config, emulator)
        emulator.reset_stats()
        again = run_sync(
            db,
            config,
            MondayClient("http://e/v2", None, transport=emulator.transport(), clock=clock),
            GREYSON,
        )
        assert again.status == "NO_CHANGES"
        assert sum(emulator.stats.mutations.values()) == 0
