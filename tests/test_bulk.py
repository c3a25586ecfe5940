"""Bulk import on SQLite and PostgreSQL against the emulator: when a job is used, what it puts
on the board, each way a job fails, the report's failed rows as ERR rows, and a crash at every
step of a job followed by a fresh ``sync``: no item or subitem twice, none lost, the board
checked against the source (``test_exactly_once.assert_exactly_once``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from helpers.crashes import Crash, crash_on_statement
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.emulator.limits import Limits
from ordersync.errors import LimitReachedError, RetryableMondayError
from ordersync.monday import MondayClient
from ordersync.monday.classify import classify, classify_job_failure
from ordersync.push.bulk.jobs import jobs_of_batch
from ordersync.states import BatchStatus, BulkJobState, RowStatus
from ordersync.sync import SyncOutcome, run_sync
from test_exactly_once import GREYSON, KEY_COLUMN, assert_exactly_once, expected_board

TOKEN = "t0ken-for-bulk-tests"


def bulk_config(config: SyncConfig, **changes: Any) -> SyncConfig:
    """The configuration with ``[delivery.bulk]`` changed (as ``sync --bulk`` does)."""
    return config.with_bulk(**changes)


class BulkTransport(httpx.BaseTransport):
    """The emulator's transport, naming each request's step (``StartIngest``, ``upload``,
    ``JobStatus``, GraphQL operation names …); at a scheduled ``(step, n)`` the process dies
    before the request leaves (``crash_before``) or after monday handled it
    (``crash_after``). ``after`` hooks run after a step's n-th answer."""

    def __init__(
        self,
        emulator: Emulator,
        crash: dict[tuple[str, int], str] | None = None,
        after: dict[tuple[str, int], Callable[[httpx.Request], None]] | None = None,
    ) -> None:
        self.inner = emulator.transport()
        self.crash, self.after = dict(crash or {}), dict(after or {})
        self.seen: dict[str, int] = {}
        self.uploads: list[httpx.Request] = []
        self.queries: list[tuple[str, dict[str, Any], int]] = []  # (name, variables, cost)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/emulator/uploads/" in request.url.path:
            step = "upload"
            self.uploads.append(request)
        elif "/emulator/reports/" in request.url.path:
            step = "report"
        else:
            body = json.loads(request.content)
            step = body.get("operationName", "")
        self.seen[step] = self.seen.get(step, 0) + 1
        key = (step, self.seen[step])
        action = self.crash.pop(key, None)
        if action == "crash_before":
            raise Crash(f"killed before {key}")
        response = self.inner.handle_request(request)
        response.read()
        if step not in ("upload", "report"):
            cost = ((response.json().get("data") or {}).get("complexity") or {}).get("query", 0)
            self.queries.append((step, body.get("variables") or {}, cost))
        if action == "crash_after":
            raise Crash(f"killed after {key}")
        hook = self.after.pop(key, None)
        if hook is not None:
            hook(request)
        return response


def run(
    db: Database,
    config: SyncConfig,
    transport: httpx.BaseTransport,
    clock: ManualClock,
    progress: Callable[[str, int, int], None] | None = None,
) -> SyncOutcome:
    with MondayClient("http://emulator.test/v2", TOKEN, transport=transport, clock=clock) as c:
        return run_sync(db, config, c, GREYSON, progress=progress)


def count_jobs(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(db.tables.bulk_jobs)).mappings()]


# ------------------------------------------------------------------------------ choice
def test_a_large_first_load_goes_through_an_import_job(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    config = bulk_config(config, threshold=10)
    transport = BulkTransport(emulator)
    bar: list[tuple[str, int, int]] = []
    outcome = run(db, config, transport, clock, progress=lambda *update: bar.append(update))

    assert outcome.exit_code == 0 and outcome.status == BatchStatus.BATCH_COMPLETED
    assert_exactly_once(db, config, emulator)
    assert outcome.report is not None
    jobs = jobs_of_batch(db, outcome.report.batch_id)
    assert len(jobs) == 1 and jobs[0]["state"] == BulkJobState.SETTLED
    assert jobs[0]["job_status"] == "COMPLETED"
    keys, sizes = expected_board(db, config)
    # the dropdown labels the board lacked were created first: every line went in the file
    assert len(json.loads(jobs[0]["item_stg_ids"])) == len(keys)
    assert len(json.loads(jobs[0]["subitem_stg_ids"])) == len(sizes)
    assert jobs[0]["file_rows"] == len(keys) + len(sizes)
    assert emulator.stats.mutations.get("create_item", 0) == 0
    assert transport.seen["AddDropdownLabels"] >= 1
    assert outcome.report.items_created == len(keys)
    assert outcome.report.subitems_created == len(sizes)
    assert outcome.report.items_adopted == 0
    assert transport.seen["upload"] == 1 and transport.seen["StartIngest"] == 1
    # the file went without the token, as text/csv
    upload = transport.uploads[0]
    assert "authorization" not in {name.lower() for name in upload.headers}
    assert TOKEN not in str(upload.headers) and TOKEN not in str(upload.url)
    assert upload.headers["content-type"] == "text/csv"
    # the progress bar followed the job to 100 %, polling every poll_seconds on the clock
    polls = [(done, total) for phase, done, total in bar if phase == "import 1/1"]
    assert polls[-1] == (100, 100) and len(polls) == transport.seen["JobStatus"]
    assert [done for done, _ in polls] == sorted(done for done, _ in polls)
    assert clock.slept.count(config.delivery.bulk.poll_seconds) == len(polls) - 1


def test_the_read_back_reads_ids_keys_and_sizes_only(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    """After the job, one query per 100 keys: ids, the key column, subitems' size; no other
    column value is read (the job made the items from our file) and the mirror holds the
    staged values."""
    config = bulk_config(config, mode="always")
    transport = BulkTransport(emulator)
    outcome = run(db, config, transport, clock)
    assert outcome.exit_code == 0
    assert_exactly_once(db, config, emulator)
    names = [name for name, _, _ in transport.queries]
    after_job = names[len(names) - names[::-1].index("JobStatus") :]
    assert after_job == ["ReadBack"]  # 69 keys: one page, nothing else read
    (_, variables, cost) = transport.queries[names.index("ReadBack")]
    assert variables["columnIds"] == [KEY_COLUMN]
    assert variables["subitemColumnIds"] == [config.subitems.size_column_id]
    assert variables["limit"] == len(variables["columns"][0]["column_values"]) == 69
    assert cost < 69 * 300  # ids, one key, subitems' size: a few hundred points an item
    keys, _ = expected_board(db, config)
    t = db.tables
    with db.engine.connect() as connection:
        staged = {
            r.order_key: (r.column_values, r.monday_item_id)
            for r in connection.execute(sa.select(t.staged_items))
        }
        mirror = {
            r.order_key: (r.column_values, r.monday_item_id)
            for r in connection.execute(sa.select(t.items))
        }
    assert set(mirror) == keys and mirror == staged


def test_a_second_sync_of_a_bulk_load_changes_nothing(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    config = bulk_config(config, mode="always")
    run(db, config, emulator.transport(), clock)
    again = run(db, config, emulator.transport(), clock)
    assert again.status == "NO_CHANGES" and again.plan.unchanged > 0
    assert_exactly_once(db, config, emulator)


@pytest.mark.parametrize(
    ("mode", "threshold", "jobs"),
    [
        ("auto", 500, 0),
        ("auto", 69, 0),  # 69 creates, not above
        ("auto", 68, 1),
        ("never", 0, 0),
        ("always", 500, 1),
    ],
)
def test_threshold_and_mode_choose_the_import(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    mode: str,
    threshold: int,
    jobs: int,
) -> None:
    config = bulk_config(config, mode=mode, threshold=threshold)
    keys, _ = expected_board(db, config)
    assert len(keys) == 69  # GREYSON PO 4755: the threshold rows above are around it
    transport = BulkTransport(emulator)
    outcome = run(db, config, transport, clock)
    assert outcome.exit_code == 0
    assert len(count_jobs(db)) == jobs
    assert transport.seen.get("upload", 0) == jobs
    assert_exactly_once(db, config, emulator)


def test_backfill_uses_backfill_items(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    config = bulk_config(config, mode="always", backfill=True)
    transport = BulkTransport(emulator)
    assert run(db, config, transport, clock).exit_code == 0
    assert transport.seen.get("StartBackfill") == 1 and "StartIngest" not in transport.seen
    assert [job["kind"] for job in count_jobs(db)] == ["backfill"]
    assert_exactly_once(db, config, emulator)


# ------------------------------------------------------------------------------ failures
@pytest.mark.parametrize("reason", ["INTERNAL_ERROR", "INVALID_UPLOAD", "FILE_TOO_LARGE"])
@pytest.mark.parametrize("mode", ["auto", "always"])
@pytest.mark.parametrize("after_rows", [0, 40])
def test_a_failed_job_s_rows_go_by_mutation(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    reason: str,
    mode: str,
    after_rows: int,
) -> None:
    """A job that fails part-way: what it made is adopted, the rest goes by mutation."""
    config = bulk_config(config, mode=mode, threshold=10)
    emulator.bulk.fail_next_job(reason, after_rows=after_rows)
    outcome = run(db, config, BulkTransport(emulator), clock)
    assert outcome.exit_code == 0
    (job,) = count_jobs(db)
    assert (job["job_status"], job["failure_reason"]) == ("FAILED", reason)
    assert job["state"] == BulkJobState.SETTLED
    assert_exactly_once(db, config, emulator)


@pytest.mark.parametrize(
    ("reason", "mode", "stops"),
    [
        ("ACCOUNT_CAPACITY_EXCEEDED", "auto", False),  # mutations do not use the budget
        ("ACCOUNT_CAPACITY_EXCEEDED", "always", True),
        ("BOARD_CAPACITY_EXCEEDED", "auto", True),  # mutations cannot help a full board
        ("BOARD_CAPACITY_EXCEEDED", "always", True),
        ("PERMISSION_DENIED", "auto", False),
        ("PERMISSION_DENIED", "always", True),
        ("AUTHORIZATION_FAILED", "auto", True),
    ],
)
def test_refusals_stop_the_batch_resumable_or_fall_back(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    reason: str,
    mode: str,
    stops: bool,
) -> None:
    config = bulk_config(config, mode=mode, threshold=10)
    emulator.bulk.fail_next_job(reason)
    if not stops:
        assert run(db, config, BulkTransport(emulator), clock).exit_code == 0
        assert_exactly_once(db, config, emulator)
        return
    with pytest.raises(LimitReachedError) as raised:
        run(db, config, BulkTransport(emulator), clock)
    assert raised.value.code == reason
    assert "import" in str(raised.value) or "board is full" in str(raised.value)
    batches = db.tables.batches
    with db.engine.connect() as connection:
        status = connection.execute(sa.select(batches.c.status)).scalar_one()
    assert status == BatchStatus.STAGED  # resumable
    # resumed (the refusal over): nothing twice, nothing lost
    assert run(db, bulk_config(config, mode="never"), emulator.transport(), clock).exit_code == 0
    assert_exactly_once(db, config, emulator)


def test_the_ingest_budget_refuses_a_job_and_auto_falls_back(
    db: Database, config: SyncConfig, clock: ManualClock
) -> None:
    emulator = Emulator(clock=clock, seed=True, limits=Limits(bulk_items_per_hour=50))
    config = bulk_config(config, mode="auto", threshold=10)
    assert run(db, config, BulkTransport(emulator), clock).exit_code == 0
    (job,) = count_jobs(db)
    assert (job["job_status"], job["failure_reason"]) == ("REJECTED", "ACCOUNT_CAPACITY_EXCEEDED")
    assert_exactly_once(db, config, emulator)


def test_backfill_without_an_admin(db: Database, config: SyncConfig, clock: ManualClock) -> None:
    emulator = Emulator(clock=clock, seed=True, account_admin=False)
    with pytest.raises(LimitReachedError, match="admin"):
        run(db, bulk_config(config, mode="always", backfill=True), emulator.transport(), clock)
    auto = bulk_config(config, mode="auto", threshold=10, backfill=True)
    assert run(db, auto, emulator.transport(), clock).exit_code == 0
    assert_exactly_once(db, config, emulator)


def test_job_starts_over_the_hourly_limit(
    db: Database, config: SyncConfig, clock: ManualClock
) -> None:
    """429 RATE_LIMIT_EXCEEDED with retryAfterMs: auto goes by mutation, always stops."""
    emulator = Emulator(clock=clock, seed=True, limits=Limits(bulk_starts_per_hour=0))
    with pytest.raises(RetryableMondayError) as raised:
        run(db, bulk_config(config, mode="always"), emulator.transport(), clock)
    assert raised.value.code == "RATE_LIMIT_EXCEEDED" and raised.value.http_status == 429
    assert raised.value.retry_after is not None and raised.value.retry_after > 300
    assert count_jobs(db) == []
    assert run(db, bulk_config(config, mode="auto", threshold=10), emulator.transport(), clock)
    assert_exactly_once(db, config, emulator)


def test_retry_after_ms_is_read_in_seconds() -> None:
    body = {
        "errors": [
            {
                "message": "Rate limit exceeded",
                "extensions": {"code": "RATE_LIMIT_EXCEEDED", "retryAfterMs": 1500},
            }
        ]
    }
    error = classify(429, body, {})
    assert error is not None and error.retryable and error.retry_after == 1.5


@pytest.mark.parametrize(
    ("reason", "stops"),
    [
        ("ACCOUNT_CAPACITY_EXCEEDED", True),
        ("BOARD_CAPACITY_EXCEEDED", True),
        ("PERMISSION_DENIED", True),
        ("AUTHORIZATION_FAILED", True),
        ("INVALID_UPLOAD", False),
        ("FILE_TOO_LARGE", False),
        ("INTERNAL_ERROR", False),
        (None, False),
    ],
)
def test_job_failure_reasons_are_classified(reason: str | None, stops: bool) -> None:
    error = classify_job_failure(reason, "words")
    assert isinstance(error, LimitReachedError) is stops
    assert error.code == (reason or "UNKNOWN")


def test_rows_a_completed_job_did_not_create_are_err_rows(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    """A label deactivated while the job runs: monday refuses those rows, the job completes;
    they become ERR rows with the report's reason, their subitems PARENT_FAILED (exit 3)."""
    refused: list[str] = []

    def deactivate_a_label(upload: httpx.Request) -> None:
        rows = list(csv.DictReader(io.StringIO(upload.content.decode())))
        column = "dropdown_mkr58de6"
        label = next(r[column] for r in reversed(rows) if r["name"] and r[column])
        refused.extend(r[KEY_COLUMN] for r in rows if r["name"] and r[column] == label)
        emulator.store.set_label_deactivated(CMS_BOARD_ID, column, label)

    config = bulk_config(config, mode="always")
    transport = BulkTransport(emulator, after={("upload", 1): deactivate_a_label})
    outcome = run(db, config, transport, clock)

    assert refused and outcome.exit_code == 3
    assert outcome.status == BatchStatus.COMPLETED_WITH_ERRORS
    (job,) = count_jobs(db)
    assert job["job_status"] == "COMPLETED" and json.loads(job["counts"])["invalid"] > 0
    t = db.tables
    with db.engine.connect() as connection:
        errors = connection.execute(sa.select(t.item_errors)).all()
        sub_errors = connection.execute(sa.select(t.subitem_errors)).all()
        failed = connection.execute(
            sa.select(t.staged_items.c.order_key).where(t.staged_items.c.status == RowStatus.FAILED)
        ).scalars()
        pending = connection.execute(
            sa.select(sa.func.count())
            .select_from(t.staged_subitems)
            .where(t.staged_subitems.c.status == RowStatus.PENDING)
        ).scalar_one()
    assert sorted(failed) == sorted(refused)
    assert {e.order_key for e in errors} == set(refused)
    assert {e.error_code for e in errors} == {"IMPORT_ROW_INVALID"}
    assert all(e.message.startswith("import job ") and len(e.message) > 30 for e in errors)
    assert sub_errors and {e.error_code for e in sub_errors} == {"PARENT_FAILED"}
    assert {e.order_key for e in sub_errors} == set(refused)
    assert pending == 0
    board_keys = [i["texts"][KEY_COLUMN] for i in emulator.items(CMS_BOARD_ID)]
    assert len(board_keys) == len(set(board_keys))
    assert not set(refused) & set(board_keys)


# ------------------------------------------------------------------------------ crashes
def _settling(table: str) -> Callable[[sa.ClauseElement], bool]:
    """The statement that closes a job SETTLED (after its rows were recorded)."""

    def matches(statement: sa.ClauseElement) -> bool:
        if not isinstance(statement, sa.sql.dml.Update) or statement.table.name != table:
            return False
        return BulkJobState.SETTLED in statement.compile().params.values()

    return matches


def _recording(table: str) -> Callable[[sa.ClauseElement], bool]:
    """The first staged row recorded DONE (the job completed, the board read back)."""

    def matches(statement: sa.ClauseElement) -> bool:
        if not isinstance(statement, sa.sql.dml.Update) or statement.table.name != table:
            return False
        return RowStatus.DONE in statement.compile().params.values()

    return matches


@pytest.mark.parametrize(
    "crash",
    [
        ("StartIngest", 1, "crash_after"),  # started, not journalled
        ("upload", 1, "crash_before"),  # journalled, file never sent: URL waited out
        ("upload", 1, "crash_after"),  # file arrived, answer lost with the process
        ("JobStatus", 1, "crash_before"),  # processing
        ("JobStatus", 2, "crash_after"),  # processing, monday answered
    ],
    ids=lambda c: f"{c[2]}-{c[0]}-{c[1]}",
)
def test_killed_at_a_job_step_then_resumed(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    crash: tuple[str, int, str],
) -> None:
    config = bulk_config(config, mode="always")
    step, n, when = crash
    with pytest.raises(Crash):
        run(db, config, BulkTransport(emulator, crash={(step, n): when}), clock)
    outcome = run(db, config, BulkTransport(emulator), clock)
    assert outcome.exit_code == 0
    assert [r.status for r in outcome.resumed] == [BatchStatus.BATCH_COMPLETED]
    assert_exactly_once(db, config, emulator)
    states = sorted(job["state"] for job in count_jobs(db))
    if (step, when) == ("upload", "crash_before"):
        assert states == [BulkJobState.ABANDONED, BulkJobState.SETTLED]
    elif step == "StartIngest":
        assert states == [BulkJobState.SETTLED]  # the unjournalled job never got a file
    else:
        assert states == [BulkJobState.SETTLED]


@pytest.mark.parametrize("point", ["recording", "recording subitems", "settling"])
def test_killed_after_the_job_completed_then_resumed(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock, point: str
) -> None:
    """Killed while the read-back is recorded: items (the 40th of 69), subitems (the first:
    the items are recorded, and the resumed read-back finds their subitems by parent), or
    when the job is closed."""
    config = bulk_config(config, mode="always")
    t = db.tables
    when = {
        "recording": _recording(t.staged_items.name),
        "recording subitems": _recording(t.staged_subitems.name),
        "settling": _settling(t.bulk_jobs.name),
    }[point]
    nth = 40 if point == "recording" else 1
    with crash_on_statement(db.engine, when, nth=nth), pytest.raises(Crash):
        run(db, config, BulkTransport(emulator), clock)
    (job,) = count_jobs(db)
    assert job["state"] == BulkJobState.UPLOADED  # completed on monday, not yet settled here
    outcome = run(db, config, BulkTransport(emulator), clock)
    assert outcome.exit_code == 0
    assert_exactly_once(db, config, emulator)
    (job,) = count_jobs(db)
    assert job["state"] == BulkJobState.SETTLED and job["job_status"] == "COMPLETED"


def test_a_lost_upload_answer_is_not_an_expired_url(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    """The file arrived, its answer was lost: the retried PUT is refused (already used), and
    the job's status, not the refusal, decides: it runs, and is read back."""
    emulator.inject(Fault(kind="lost_response", match="upload"))
    config = bulk_config(config, mode="always")
    transport = BulkTransport(emulator)
    assert run(db, config, transport, clock).exit_code == 0
    assert transport.seen["upload"] == 2
    (job,) = count_jobs(db)
    assert job["state"] == BulkJobState.SETTLED
    assert_exactly_once(db, config, emulator)


def test_dropdown_labels_are_added_and_existing_ones_kept(
    config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    column = "dropdown_mkr518fc"  # RECEIVED, CANCELLED on the seeded board
    with MondayClient(
        "http://emulator.test/v2", TOKEN, transport=emulator.transport(), clock=clock
    ) as client:
        before = client.get_board(CMS_BOARD_ID).columns[column]
        labels = client.add_dropdown_labels(CMS_BOARD_ID, column, ["NEW, ONE", "RECEIVED", "Z"])
        again = client.add_dropdown_labels(CMS_BOARD_ID, column, ["Z"])  # nothing to add
        after = client.get_board(CMS_BOARD_ID).columns[column]
    assert set(before.labels) == {"RECEIVED", "CANCELLED"}
    assert labels == again
    assert after.labels == (*before.labels, "NEW, ONE", "Z")
    ids = {entry["label"]: entry["id"] for entry in after.settings["labels"]}
    assert all(
        ids[label] == entry["id"]
        for entry in before.settings["labels"]
        for label in [entry["label"]]
    )
