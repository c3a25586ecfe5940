"""The database failing under a run, on the real PostgreSQL: nothing twice, nothing lost.

The run's connections carry an ``application_name`` of their own, so a second connection can
terminate exactly them (``pg_terminate_backend``) at chosen points: mid-plan, between the
journal entry and the request, between the answer and its recording, inside the answer's
transaction, on a pulled page, while ``serve`` applies events. Deadlocks and serialisation
failures are raised by the server itself (``RAISE … USING ERRCODE``) inside the run's
transaction. A private throwaway cluster (``initdb`` + ``pg_ctl`` on a free port) is stopped
and started again under a delivery. After each scenario the board, the mirror and the journal
must agree with the source exactly (``assert_exactly_once``) and a following ``sync`` has
nothing left to finish.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

import ordersync.pull.receiver as serve_module
import ordersync.sync as sync_module
from helpers.board_support import CUT_QTY, FCST_QTY, GREYSON
from helpers.crashes import on_statement, touches
from helpers.support import IN_CI, PG_URL, demo_database
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.retry import BACKOFF_FIRST, DEFAULT_ATTEMPTS
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.errors import DatabaseUnavailableError
from ordersync.monday import MondayClient
from ordersync.pull.install import install_webhooks
from ordersync.pull.pull import pull_board
from ordersync.pull.receiver import Authentication, EventApplier, WebhookServer
from ordersync.pull.recorder import ValueRecorder
from ordersync.states import BatchStatus, JournalState
from ordersync.sync import SyncOutcome, run_sync
from test_exactly_once import assert_exactly_once

RETRIED = "database failed while"  # the retry loop's warning


# ------------------------------------------------------------------------------ harness
@dataclass
class Killer:
    """A second connection that terminates the run's backends (by ``application_name``)."""

    admin: sa.Engine
    name: str
    kills: int = 0

    def kill(self) -> None:
        with self.admin.connect() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.name},
            ).scalar_one()
        assert killed >= 1, "the run had no connection to terminate"
        self.kills += 1


@pytest.fixture
def killable(pg_url: str) -> Iterator[tuple[Database, Killer]]:
    """The demo database on PostgreSQL, its connections named so they can be terminated."""
    name = f"ordersync_faults_{uuid.uuid4().hex[:10]}"
    database = demo_database(f"{pg_url}&application_name={name}")
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    yield database, Killer(admin, name)
    database.engine.dispose()
    admin.dispose()


def raise_in_transaction(sqlstate: str) -> Callable[[sa.Connection], None]:
    """The server raises ``sqlstate`` in the run's own transaction (as a deadlock would)."""

    def action(connection: sa.Connection) -> None:
        connection.exec_driver_sql(
            "DO $$ BEGIN RAISE EXCEPTION 'injected by the test' "
            f"USING ERRCODE = '{sqlstate}'; END $$"
        )

    return action


class HookedTransport(httpx.BaseTransport):
    """The emulator's transport, calling ``before``/``after`` around the n-th request that
    carries ``field`` (after: monday applied it, its answer is not yet read by the client)."""

    def __init__(
        self,
        emulator: Emulator,
        field: str,
        nth: int = 1,
        before: Callable[[], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.inner, self.field, self.nth = emulator.transport(), field, nth
        self.before, self.after = before, after
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hit = False
        if f"{self.field}(" in json.loads(request.content).get("query", ""):
            self.seen += 1
            hit = self.seen == self.nth
        if hit and self.before:
            self.before()
        response = self.inner.handle_request(request)
        if hit and self.after:
            response.read()
            self.after()
        return response


def sync(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    transport: httpx.BaseTransport | None = None,
    run_clock: ManualClock | None = None,
) -> SyncOutcome:
    with MondayClient(
        "http://emulator.test/v2",
        "t0ken-for-tests",
        transport=transport or emulator.transport(),
        clock=clock,
    ) as client:
        return run_sync(db, config, client, GREYSON, clock=run_clock or clock)


def assert_finished(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock
) -> None:
    """Nothing twice, nothing lost; the next sync finds nothing to finish or send."""
    assert_exactly_once(db, config, emulator)
    again = sync(db, config, emulator, clock)
    assert (again.status, again.resumed, again.plan.changes) == ("NO_CHANGES", [], 0)
    batches = db.tables.batches
    with db.engine.connect() as connection:
        statuses = set(connection.execute(sa.select(batches.c.status)).scalars())
    assert statuses == {BatchStatus.BATCH_COMPLETED}


def retried(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(RETRIED)]


# ------------------------------------------------------------------------------ sync
@pytest.fixture
def forgetful(emulator: Emulator) -> Emulator:
    """monday keeps no idempotency answer: what was applied must be found by lookup."""
    emulator.forget_idempotency_keys(remember=False)
    return emulator


@pytest.mark.parametrize(
    ("table", "kind", "unit"),
    [
        ("staged_items", sa.sql.dml.Insert, "planning GREYSON"),  # mid-plan staging
        ("items", sa.sql.dml.Insert, "delivering batch"),  # inside the answer's transaction
        ("subitems", sa.sql.dml.Insert, "delivering batch"),  # a subitem answer's transaction
    ],
)
def test_connections_terminated_inside_a_transaction(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    table: str,
    kind: type,
    unit: str,
) -> None:
    db, killer = killable
    name = getattr(db.tables, table).name
    with on_statement(db.engine, touches(name, kind), lambda _: killer.kill()):
        outcome = sync(db, config, forgetful, clock)
    assert killer.kills == 1
    assert outcome.exit_code == 0
    assert [m for m in retried(caplog) if unit in m], "the unit of work was not retried"
    assert_finished(db, config, forgetful, clock)


@pytest.mark.parametrize("when", ["before", "after"])
def test_connections_terminated_around_a_request(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    when: str,
) -> None:
    """Between the journal entry and the request, or between monday's answer and its
    recording: the pool's pre-ping replaces the dead connections, nothing even fails."""
    db, killer = killable
    transport = HookedTransport(forgetful, "create_item", 2, **{when: killer.kill})
    outcome = sync(db, config, forgetful, clock, transport)
    assert killer.kills == 1 and outcome.exit_code == 0
    assert retried(caplog) == []
    assert_finished(db, config, forgetful, clock)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
@pytest.mark.parametrize("table", ["staged_items", "items"], ids=["plan", "answer"])
def test_deadlocks_and_serialization_failures_are_retried(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    sqlstate: str,
    table: str,
) -> None:
    db, _ = killable
    name = getattr(db.tables, table).name
    with on_statement(db.engine, touches(name, sa.sql.dml.Insert), raise_in_transaction(sqlstate)):
        outcome = sync(db, config, forgetful, clock)
    assert outcome.exit_code == 0
    assert len(retried(caplog)) == 1 and "injected by the test" in retried(caplog)[0]
    assert_finished(db, config, forgetful, clock)


def test_a_permanent_database_error_is_not_retried(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, _ = killable
    name = db.tables.staged_items.name
    with on_statement(db.engine, touches(name, sa.sql.dml.Insert), raise_in_transaction("23505")):
        with pytest.raises(sa.exc.IntegrityError):
            sync(db, config, emulator, clock)
    assert retried(caplog) == []


# ------------------------------------------------------------------------------ pull, serve
def test_a_pulled_page_is_recorded_again_after_its_connection_dies(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    client: MondayClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, killer = killable
    assert sync(db, config, emulator, clock).exit_code == 0
    items = sorted(
        (i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"), key=lambda i: i["id"]
    )
    edited = [items[5]["id"], items[40]["id"], items[-1]["id"]]  # on the first, second, last page
    for n, monday_id in enumerate(edited):
        emulator.act(monday_id, FCST_QTY, str(100 + n))
    paged = config.model_copy(update={"pull": config.pull.model_copy(update={"page_size": 25})})
    original = ValueRecorder.record
    calls = 0

    def record(self: ValueRecorder, connection: sa.Connection, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second page: its transaction's connection dies
            killer.kill()
        return original(self, connection, *args)

    monkeypatch.setattr(ValueRecorder, "record", record)

    report = pull_board(db, paged, client, clock=clock)

    assert killer.kills == 1 and report.items_read == len(items)
    assert report.values_changed == len(edited)
    assert [m for m in retried(caplog) if "recording a page" in m]
    changes = db.tables.value_changes
    with db.engine.connect() as connection:
        logged = connection.execute(sa.select(changes.c.monday_id, changes.c.new_text)).all()
    assert sorted(logged) == sorted((int(i), str(100 + n)) for n, i in enumerate(edited))


RECEIVER = "http://ordersync.test/monday"


class Forward:
    """The receiver's WSGI app, set once the server exists (the emulator posts to it)."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


def test_serve_applies_events_again_after_its_connection_dies(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, killer = killable
    forward = Forward()
    transport = httpx.WSGITransport(app=forward)
    with (
        Emulator(clock=clock, webhook_secret="s" * 32, webhook_transport=transport) as emulator,
        MondayClient(
            "http://emulator.test/v2", "t0ken", transport=emulator.transport(), clock=clock
        ) as client,
    ):
        server = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(insecure=True))
        forward.app = server.app
        assert run_sync(db, config, client, GREYSON, clock=clock).exit_code == 0
        assert install_webhooks(client, CMS_BOARD_ID, RECEIVER).exit_code == 0
        server.applier.apply_pending()  # the sync's own events
        item = next(i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active")
        subitem = next(
            s for s in emulator.items(CMS_SUBITEMS_BOARD_ID) if s["parent_id"] == item["id"]
        )
        emulator.act(item["id"], FCST_QTY, "321")
        emulator.act(subitem["id"], CUT_QTY, "7")
        emulator.flush_webhooks()
        assert server.applier.pending_count() == 2
        original = EventApplier._close
        calls = 0

        def close(self: EventApplier, connection: sa.Connection, events: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                killer.kill()
            original(self, connection, events)

        monkeypatch.setattr(EventApplier, "_close", close)
        report = server.applier.apply_pending()

    assert killer.kills == 1
    assert (report.events, report.values_changed, report.deferred) == (2, 2, False)
    assert server.applier.pending_count() == 0
    assert [m for m in retried(caplog) if "applying webhook events" in m]
    t = db.tables
    with db.engine.connect() as connection:
        logged = connection.execute(
            sa.select(t.value_changes.c.monday_id, t.value_changes.c.new_text).where(
                t.value_changes.c.source == "webhook"
            )
        ).all()
        locks = connection.execute(sa.select(sa.func.count()).select_from(t.locks)).scalar_one()
    assert sorted(logged) == sorted([(int(item["id"]), "321"), (int(subitem["id"]), "7")])
    assert locks == 0


# ------------------------------------------------------------------------------ restarts
POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


class Cluster:
    """A private PostgreSQL cluster in a temporary directory, on a free port."""

    def __init__(self, root: Path) -> None:
        self.bin = POSTGRES_BIN[-1]
        self.data, self.log = root / "data", root / "server.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.user:
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.user, str(self.bin / program), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def ensure_running(self) -> None:
        """Started again after a test that failed while the server was down."""
        status = subprocess.run(
            [*self.user, str(self.bin / "pg_ctl"), "status", "-D", str(self.data)],
            capture_output=True,
            check=False,
        )
        if status.returncode != 0:
            self.start()

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not POSTGRES_BIN or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
        if IN_CI:
            pytest.fail(message + "; under CI=true the restart tests must run")
        pytest.skip(message)
    # its own directory under the system's: pytest's is private to this user, and the
    # server runs as ``postgres`` when the tests run as root (initdb refuses root)
    root = Path(tempfile.mkdtemp(prefix="ordersync-cluster-"))
    try:
        built = Cluster(root)
        yield built
        built.ensure_running()
        built.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Database]:
    """The demo database in a fresh database of the private cluster."""
    cluster.ensure_running()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        cluster.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database = demo_database(cluster.url(name))
    yield database
    database.engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


class RestartingClock(ManualClock):
    """The run's clock: the server comes back while the run waits to retry."""

    def __init__(self, cluster: Cluster, after_sleeps: int) -> None:
        super().__init__()
        self.cluster, self.after_sleeps = cluster, after_sleeps

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.slept) == self.after_sleeps:
            self.cluster.start()


def test_a_server_restarted_under_a_delivery_is_reconnected_to(
    cluster: Cluster,
    on_cluster: Database,
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
) -> None:
    """The server goes down right after monday answered a request and is back two retries
    later: the same run settles the request by lookup and finishes."""
    run_clock = RestartingClock(cluster, after_sleeps=2)
    transport = HookedTransport(forgetful, "create_item", 2, after=cluster.stop)
    outcome = sync(on_cluster, config, forgetful, clock, transport, run_clock)
    assert outcome.exit_code == 0
    assert run_clock.slept == [BACKOFF_FIRST, BACKOFF_FIRST * 2]
    assert_finished(on_cluster, config, forgetful, clock)


def test_a_database_that_dies_after_the_answer_leaves_it_to_the_journal(
    cluster: Cluster,
    on_cluster: Database,
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
) -> None:
    """The server dies right after monday applied a chunk of creates and stays down: the
    run stops (retries spent), the entry is SENDING, the items are on monday; the next sync
    settles the entry by lookup and creates nothing twice."""
    db = on_cluster
    transport = HookedTransport(forgetful, "create_item", 1, after=cluster.stop)
    with pytest.raises(DatabaseUnavailableError) as stopped:
        sync(db, config, forgetful, clock, transport)
    assert stopped.value.attempts == DEFAULT_ATTEMPTS
    cluster.start()
    t = db.tables
    with db.engine.begin() as connection:
        entries = connection.execute(sa.select(t.journal.c.state, t.journal.c.aliases)).all()
        # the stopped run's process has exited: its lock row goes with it
        connection.execute(t.locks.delete())
    assert [state for state, _ in entries] == [JournalState.SENDING]
    applied = [i for i in forgetful.items(CMS_BOARD_ID) if i["state"] == "active"]
    assert len(applied) == len(json.loads(entries[0].aliases))  # monday applied every alias

    outcome = sync(db, config, forgetful, clock)

    assert outcome.exit_code == 0 and len(outcome.resumed) == 1
    assert outcome.resumed[0].items_adopted == len(applied)
    assert_finished(db, config, forgetful, clock)


# ------------------------------------------------------------------------------ lost commits
def test_a_plan_whose_commit_answer_was_lost_is_delivered_not_planned_twice(
    db: Database,
    config: SyncConfig,
    forgetful: Emulator,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The plan committed, but the connection died before COMMIT's answer came back: the
    repeat first delivers the batch that did land, then plans nothing new."""
    original, lost = sync_module.plan_batch, []

    def plan_batch(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not lost:
            lost.append(result.batch_id)
            gone = psycopg.errors.AdminShutdown("terminating connection")
            raise sa.exc.OperationalError("COMMIT", {}, gone, connection_invalidated=True)
        return result

    monkeypatch.setattr(sync_module, "plan_batch", plan_batch)
    outcome = sync(db, config, forgetful, clock)

    assert outcome.exit_code == 0 and outcome.plan.changes == 0
    assert [r.batch_id for r in outcome.resumed] == lost
    assert [m for m in retried(caplog) if "planning GREYSON" in m]
    with db.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).select_from(db.tables.batches)
            ).scalar_one()
            == 1
        )
    assert_finished(db, config, forgetful, clock)


# ------------------------------------------------------------------------------ receiving
def test_a_webhook_event_is_stored_once_through_a_dead_connection(
    killable: tuple[Database, Killer], config: SyncConfig, client: MondayClient
) -> None:
    db, killer = killable
    server = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(insecure=True))
    event = {"type": "update_column_value", "boardId": CMS_BOARD_ID, "pulseId": 1, "columnId": "x"}
    table = db.tables.webhook_events
    with on_statement(db.engine, touches(table.name, sa.sql.dml.Insert), lambda _: killer.kill()):
        first = post(server, {"event": event})
    again = post(server, {"event": event})

    assert killer.kills == 1
    assert (first.status_code, first.json()) == (200, {"ok": True})
    assert again.json() == {"ok": True, "duplicate": True}
    assert server.applier.pending_count() == 1


def test_a_webhook_event_the_database_cannot_store_is_answered_503(
    killable: tuple[Database, Killer],
    config: SyncConfig,
    client: MondayClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, _ = killable

    def store_event(*args: Any) -> bool:
        gone = psycopg.errors.CannotConnectNow("the database system is starting up")
        raise sa.exc.OperationalError("INSERT", {}, gone)

    monkeypatch.setattr(serve_module, "store_event", store_event)
    server = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(insecure=True))
    event = {"type": "update_column_value", "boardId": CMS_BOARD_ID, "pulseId": 1, "columnId": "x"}
    answer = post(server, {"event": event})
    assert answer.status_code == 503
    assert answer.json() == {"error": "the database is unavailable; send the event again"}


def post(server: WebhookServer, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(transport=httpx.WSGITransport(app=server.app)) as http:
        return http.post(RECEIVER, json=body)


def test_the_command_line_says_what_happened_without_a_traceback_or_the_token(
    cluster: Cluster, on_cluster: Database
) -> None:
    """``sync`` against a database server that is down: exit 1, what happened, what to do."""
    cluster.stop()
    env = {
        **os.environ,
        "ORDERSYNC_DATABASE_URL": str(on_cluster.engine.url),
        "MONDAY_API_TOKEN": "sekrit-token-42",
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from ordersync.cli import main; main()",
                "sync",
                "--customer",
                "GREYSON",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        cluster.start()
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "database error: the database connection failed" in output
    assert "run the same `ordersync sync` again: it first finishes any batch" in output
    assert "Traceback" not in output and "sekrit-token-42" not in output
