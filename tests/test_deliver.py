"""``deliver``, one ``Delivery`` at a time: kinds go in protocol order (items before subitems),
each request is journalled SENDING before it leaves, a lost answer is settled by lookup (adopt
what exists; resend under the same key only while monday's cache may still hold it), and an
alias monday refused for a moment stays PENDING and goes again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.emulator.api_errors import MondayAPIError
from ordersync.monday import MondayClient
from ordersync.push.board import BoardContext
from ordersync.push.deliver import Delivery
from ordersync.push.journal import open_entries, open_entry
from ordersync.push.plan import plan_batch
from ordersync.push.rows import ItemCreates
from ordersync.push.source import Scope
from ordersync.states import BatchStatus, JournalState, RowStatus

GREYSON = Scope("GREYSON", "4755")
LINES = 3
ORDER = [
    "CreateItems",
    "UpdateItems",
    "MoveItems",
    "ArchiveItems",
    "CreateSubitems",
    "UpdateSubitems",
    "ArchiveSubitems",
]


@dataclass
class Sent:
    """One mutation request as the transport saw it, and the journal at that moment."""

    operation: str
    key: str
    journal_state: str | None
    aliases: dict[str, str]
    staged: dict[str, tuple[str, str | None]]  # stg_id → (status, request_id)


@dataclass
class Recorder(httpx.BaseTransport):
    """The emulator's transport, noting every row mutation request and what the database
    held when it left; ``lose`` decides per request whether its answer is lost (a read
    timeout) before or after monday applied it."""

    emulator: Emulator
    db: Database
    lose: Callable[[Sent], str | None] = lambda sent: None  # None, "before" or "after"
    drop: Callable[[Sent], set[str]] = lambda sent: set()  # aliases left out of the answer
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.inner = self.emulator.transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        operation = json.loads(request.content).get("operationName")
        if operation not in ORDER:
            return self.inner.handle_request(request)
        sent = self._observe(operation, request.headers["Idempotency-Key"])
        self.sent.append(sent)
        lost = self.lose(sent)
        if lost == "before":
            raise httpx.ReadTimeout("lost", request=request)
        response = self.inner.handle_request(request)
        if lost == "after":
            raise httpx.ReadTimeout("lost", request=request)
        dropped = self.drop(sent)
        if not dropped:
            return response
        body = json.loads(response.read())
        body["data"] = {k: v for k, v in body["data"].items() if k not in dropped}
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=body)

    def _observe(self, operation: str, key: str) -> Sent:
        journal = self.db.tables.journal
        with self.db.engine.connect() as connection:
            entry = connection.execute(
                sa.select(journal.c.state, journal.c.aliases).where(journal.c.request_id == key)
            ).one_or_none()
            aliases = json.loads(entry.aliases) if entry else {}
            staged: dict[str, tuple[str, str | None]] = {}
            for table in (self.db.tables.staged_items, self.db.tables.staged_subitems):
                for row in connection.execute(
                    sa.select(table.c.stg_id, table.c.status, table.c.request_id).where(
                        table.c.stg_id.in_(list(aliases.values()))
                    )
                ):
                    staged[row.stg_id] = (row.status, row.request_id)
        return Sent(operation, key, entry.state if entry else None, aliases, staged)


def _config(config: SyncConfig, items: int = 50, subitems: int = 50) -> SyncConfig:
    delivery = config.delivery.model_copy(
        update={"items_per_request": items, "subitems_per_request": subitems}
    )
    return config.model_copy(update={"delivery": delivery})


def _delivery(
    db: Database, config: SyncConfig, recorder: Recorder, clock: ManualClock
) -> tuple[Delivery, MondayClient]:
    client = MondayClient("http://emulator.test/v2", "t", transport=recorder, clock=clock)
    return Delivery(db, config, client, BoardContext.load(client, config, CMS_BOARD_ID)), client


def _batch(db: Database, config: SyncConfig) -> str:
    result = plan_batch(db, config, GREYSON, limit=LINES)
    assert result.batch_id is not None
    return result.batch_id


def _staged(db: Database, table: sa.Table, batch_id: str) -> list[sa.RowMapping]:
    with db.engine.connect() as connection:
        return list(
            connection.execute(sa.select(table).where(table.c.batch_id == batch_id)).mappings()
        )


def _active(emulator: Emulator, board_id: int) -> list[dict[str, Any]]:
    return [i for i in emulator.items(board_id) if i["state"] == "active"]


def _journal(db: Database, key: str) -> sa.RowMapping:
    journal = db.tables.journal
    with db.engine.connect() as connection:
        return (
            connection.execute(sa.select(journal).where(journal.c.request_id == key))
            .mappings()
            .one()
        )


# ------------------------------------------------------------------------------ order
def test_kinds_go_in_protocol_order_and_items_before_subitems(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    configured = _config(config, items=2, subitems=5)
    batch = _batch(db, configured)
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, configured, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    kinds = [k.operation for k in (*delivery.item_kinds, *delivery.subitem_kinds)]
    assert kinds == ORDER
    operations = [s.operation for s in recorder.sent]
    assert operations == sorted(operations, key=ORDER.index)
    assert operations.count("CreateItems") == 2  # 3 lines, 2 per request
    assert "CreateSubitems" in operations
    assert report.status == BatchStatus.BATCH_COMPLETED
    assert len(_active(emulator, CMS_BOARD_ID)) == LINES
    subitems = _staged(db, db.tables.staged_subitems, batch)
    assert len(_active(emulator, CMS_SUBITEMS_BOARD_ID)) == len(subitems)
    assert {s["status"] for s in subitems} == {RowStatus.DONE}


def test_every_request_is_journalled_before_it_is_sent(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        delivery.deliver(batch)

    assert recorder.sent
    for sent in recorder.sent:
        assert sent.journal_state == JournalState.SENDING, sent.operation
        assert sent.aliases and set(sent.staged) == set(sent.aliases.values())
        for status, request_id in sent.staged.values():
            assert (status, request_id) == (RowStatus.PENDING, sent.key)
        assert _journal(db, sent.key)["state"] == JournalState.DONE  # answered, closed
    assert open_entries(db, CMS_BOARD_ID) == []


# ------------------------------------------------------------------------------ lost answers
def test_a_create_whose_answer_is_lost_after_monday_applied_it_is_adopted(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    recorder = Recorder(
        emulator, db, lose=lambda s: "after" if s.operation == "CreateItems" else None
    )
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    assert [s.operation for s in recorder.sent].count("CreateItems") == 1  # never resent
    assert len(_active(emulator, CMS_BOARD_ID)) == LINES  # no duplicate
    items = _staged(db, db.tables.staged_items, batch)
    assert {i["status"] for i in items} == {RowStatus.ADOPTED}
    lost = _journal(db, recorder.sent[0].key)
    assert (lost["state"], lost["error"]) == (JournalState.DONE, "resolved by lookup")
    assert report.status == BatchStatus.BATCH_COMPLETED


def test_a_create_lost_before_monday_ran_it_is_resent_under_the_same_key(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    first: list[str] = []

    def lose_first(sent: Sent) -> str | None:
        if sent.operation == "CreateItems" and not first:
            first.append(sent.key)
            return "before"
        return None

    recorder = Recorder(emulator, db, lose=lose_first)
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    creates = [s.key for s in recorder.sent if s.operation == "CreateItems"]
    assert creates == [first[0], first[0]]  # looked up, none found: the same request again
    assert len(_active(emulator, CMS_BOARD_ID)) == LINES
    assert {i["status"] for i in _staged(db, db.tables.staged_items, batch)} == {RowStatus.DONE}
    assert report.status == BatchStatus.BATCH_COMPLETED


@pytest.mark.parametrize(
    ("minutes", "resent"),
    [(5, True), (24, True), (26, False), (29, False), (45, False)],
)
def test_an_open_entry_is_resent_only_while_monday_may_cache_its_key(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    minutes: int,
    resent: bool,
) -> None:
    """monday replays a key's answer for 30 minutes; delivery resends within 25, else the
    entry is closed and its rows stay PENDING for a request under a new key."""
    batch = _batch(db, config)
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, config, recorder, clock)
    creates = ItemCreates(db, config, client, delivery.board)
    rows = creates.pending(batch)
    entry = open_entry(
        db, batch, CMS_BOARD_ID, "CREATE_ITEMS", {f"i{n}": r.stg_id for n, r in enumerate(rows, 1)}
    )
    creates.mark_sent(entry.request_id, [r.stg_id for r in rows])
    journal = db.tables.journal
    with db.engine.begin() as connection:
        connection.execute(
            journal.update()
            .where(journal.c.request_id == entry.request_id)
            .values(sent_at=utcnow() - timedelta(minutes=minutes))
        )

    with client:
        delivery.resolve_open_requests()

    assert [s.key for s in recorder.sent] == ([entry.request_id] if resent else [])
    statuses = {r["status"] for r in _staged(db, db.tables.staged_items, batch)}
    assert statuses == {RowStatus.DONE if resent else RowStatus.PENDING}
    assert _journal(db, entry.request_id)["state"] == JournalState.DONE
    assert open_entries(db, CMS_BOARD_ID) == []


@pytest.mark.parametrize(
    ("operation", "alias", "table", "board_id"),
    [
        ("CreateItems", "i2", "staged_items", CMS_BOARD_ID),
        ("CreateSubitems", "s2", "staged_subitems", CMS_SUBITEMS_BOARD_ID),
    ],
)
def test_an_alias_the_answer_does_not_mention_is_looked_up_not_resent(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    operation: str,
    alias: str,
    table: str,
    board_id: int,
) -> None:
    """A subitem under a parent created in this batch is not looked up before its create:
    only the lookup after the answer keeps it from being created twice."""
    batch = _batch(db, config)
    first: list[str] = []

    def drop_one(sent: Sent) -> set[str]:
        if sent.operation == operation and not first:
            first.append(sent.aliases[alias])
            return {alias}
        return set()

    recorder = Recorder(emulator, db, drop=drop_one)
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    assert [s.operation for s in recorder.sent].count(operation) == 1
    staged = _staged(db, getattr(db.tables, table), batch)
    assert len(_active(emulator, board_id)) == len(staged)  # adopted, not created twice
    statuses = {row["stg_id"]: row["status"] for row in staged}
    assert statuses.pop(first[0]) == RowStatus.ADOPTED
    assert set(statuses.values()) == {RowStatus.DONE}
    assert report.status == BatchStatus.BATCH_COMPLETED


# ------------------------------------------------------------------------------ alias errors
def _fail_nth(emulator: Emulator, method: str, nth: int, error: MondayAPIError) -> None:
    real = getattr(emulator.store, method)
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            raise error
        return real(*args, **kwargs)

    setattr(emulator.store, method, flaky)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            MondayAPIError("FIELD_LIMIT_EXCEEDED", "slow down", status_code=429), id="429"
        ),
        pytest.param(MondayAPIError("ResourceLocked", "item is locked", status_code=423), id="423"),
    ],
)
def test_a_retryable_error_on_one_alias_leaves_its_row_pending_for_the_next_request(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock, error: MondayAPIError
) -> None:
    batch = _batch(db, config)
    _fail_nth(emulator, "create_item", 2, error)
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    first, second = [s for s in recorder.sent if s.operation == "CreateItems"]
    assert len(first.aliases) == LINES
    [again] = second.aliases.values()  # only the refused row goes again …
    assert second.staged[again][0] == RowStatus.PENDING  # … still PENDING, never failed
    assert second.key != first.key
    assert {i["status"] for i in _staged(db, db.tables.staged_items, batch)} == {RowStatus.DONE}
    assert len(_active(emulator, CMS_BOARD_ID)) == LINES
    with db.engine.connect() as connection:
        errors = db.tables.item_errors
        assert connection.execute(sa.select(sa.func.count()).select_from(errors)).scalar() == 0
    assert (report.items_failed, report.status) == (0, BatchStatus.BATCH_COMPLETED)


def test_a_permanent_error_on_one_alias_fails_only_that_row(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    _fail_nth(emulator, "create_item", 2, MondayAPIError("ColumnValueException", "bad value"))
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, config, recorder, clock)

    with client:
        report = delivery.deliver(batch)

    assert [s.operation for s in recorder.sent].count("CreateItems") == 1
    statuses = sorted(i["status"] for i in _staged(db, db.tables.staged_items, batch))
    assert statuses == [RowStatus.DONE, RowStatus.DONE, RowStatus.FAILED]
    assert (report.items_failed, report.status) == (1, BatchStatus.COMPLETED_WITH_ERRORS)
    # the failed line's sizes cannot be created: recorded, not dropped
    failed = [
        s for s in _staged(db, db.tables.staged_subitems, batch) if s["status"] == RowStatus.FAILED
    ]
    assert failed and report.subitems_failed == len(failed)


def test_the_batch_record_counts_requests(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    recorder = Recorder(emulator, db)
    delivery, client = _delivery(db, config, recorder, clock)
    before = client.stats.requests

    with client:
        report = delivery.deliver(batch)

    assert report.items_created == LINES
    assert report.requests == client.stats.requests - before >= len(recorder.sent)


def test_a_batch_whose_subitems_monday_refused_completes_with_errors(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    batch = _batch(db, config)
    _fail_nth(emulator, "create_subitem", 1, MondayAPIError("ColumnValueException", "bad qty"))
    delivery, client = _delivery(db, config, Recorder(emulator, db), clock)

    with client:
        report = delivery.deliver(batch)

    assert (report.items_failed, report.subitems_failed) == (0, 1)
    assert report.status == BatchStatus.COMPLETED_WITH_ERRORS
