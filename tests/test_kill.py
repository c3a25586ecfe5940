"""Exactly once with real processes: ``ordersync sync`` killed with SIGKILL, and two at once.

``tests/test_exactly_once.py`` simulates crashes in-process; here the real CLI entry point runs
as a child process against the emulator over real HTTP, on SQLite and PostgreSQL, and is
killed with SIGKILL at chosen points. Each point is made deterministic by an injected fault
that holds one request in the emulator until the test has killed the client:

* a ``latency`` fault holds a request *before* monday applies it;
* a ``timeout`` fault with ``after_apply`` holds the connection *after* monday applied the
  mutation, so the answer never reaches the client.

A held request is held until the test releases it (``HeldRequests``), not for a wall-clock
delay: so a request the killed process left in flight is applied by "monday" only after the
next run has finished, the worst moment, and must still duplicate nothing.

Each kill point also runs with monday restarted after the kill (``restarted``): its
idempotency cache is gone and the requests it held never complete, as in the reproduction of
issue 10 (killed while a create was SENDING, then 119 items for 69 keys); the next run must
look up what exists before resending anything.

After each kill the same ``sync`` runs again and must exit 0, taking over the lock row the
killed process left behind; the board must then hold every order line and size of the source
exactly once, ordersync's tables must agree with it, and one more ``sync`` must send nothing.

The same holds for ``sync --bulk always`` killed at each step of its import job that can be
seen from outside: started (file not yet arrived), file arrived and processing, completed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import ordersync.emulator.app
import ordersync.emulator.server
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table, fill_demo_orders
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Fault, RunningServer
from ordersync.emulator.bulk import COMPLETED, PROCESSING, UPLOAD_PATH, UPLOAD_PENDING
from ordersync.emulator.limits import Limits
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.states import BulkJobState, JournalState, RowStatus

ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]
SYNC = ("sync", "--customer", "GREYSON", "--po-number", "4755", "--json")
GREYSON = Scope("GREYSON", "4755")
KEY_COLUMN, SIZE_COLUMN = "text_mkr5wya6", "dropdown_mkrak7qp"
QTY_COLUMN = "numeric_mkra7j8e"  # Order Qty of a size (subitems)
ITEMS, SUBITEMS = 69, 264  # GREYSON PO 4755 in the demo data
ONCE = {"create_group": 1, "create_item": ITEMS, "create_subitem": SUBITEMS}  # one delivery
LOCKED = "is busy: ordersync sync on host"
POLL, PATIENCE = 0.05, 20.0  # seconds between looks, seconds before giving up
HOLD = 600.0  # an injected delay: in effect "until the test releases it"


# ------------------------------------------------------------------------------ harness
class HeldRequests:
    """The emulator's injected delays, each made to last until the test releases it; and a
    count of the requests inside the emulator's app, to wait until held ones have finished.

    It stands in for ``time`` in ``ordersync.emulator.app`` (latency faults) and
    ``ordersync.emulator.server`` (the connection a timeout fault holds), and wraps the app;
    with ``uploads_held`` it also holds each import file's ``PUT`` before monday stores it.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._holds: list[threading.Event] = []
        self._all_released = False
        self._inside = 0
        self._dropped: list[threading.Event] = []
        self.uploads_held = False

    def sleep(self, seconds: float) -> None:
        hold = threading.Event()
        with self._lock:
            if self._all_released:
                return
            self._holds.append(hold)
        hold.wait(seconds)
        with self._lock:
            if hold in self._dropped:  # monday restarted: the request dies unapplied
                raise ConnectionAbortedError("monday restarted")

    def drop(self) -> None:
        """monday restarts: every request held so far ends without being applied."""
        with self._lock:
            self._dropped.extend(self._holds)
            holds = list(self._holds)
        for hold in holds:
            hold.set()
        wait_until(lambda: self._inside == 0, "the dropped requests to end")

    @property
    def count(self) -> int:
        """How many requests have been held so far."""
        with self._lock:
            return len(self._holds)

    def release_one(self, index: int) -> None:
        """Let the ``index``-th held request (in arrival order) go on."""
        with self._lock:
            hold = self._holds[index]
        hold.set()

    def release(self) -> None:
        """Let every held request go on (and later ones pass), wait until they are through."""
        with self._lock:
            self._all_released = True
            holds = list(self._holds)
        for hold in holds:
            hold.set()
        wait_until(lambda: self._inside == 0, "the held requests to finish")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            self._inside += 1
        try:
            upload = environ["REQUEST_METHOD"] == "PUT" and environ["PATH_INFO"].startswith(
                UPLOAD_PATH
            )
            if upload and self.uploads_held:
                self.sleep(HOLD)
            return list(self._app(environ, start_response))
        finally:
            with self._lock:
                self._inside -= 1


@dataclass
class Rig:
    """One emulator over HTTP, one database with the demo orders, the CLI's environment."""

    emulator: Emulator
    server: RunningServer
    held: HeldRequests
    db: Database
    config: SyncConfig
    env: dict[str, str]
    cwd: Path
    command: tuple[str, ...] = SYNC

    @contextmanager
    def start_sync(self) -> Iterator[subprocess.Popen[str]]:
        """``ordersync sync`` as a child process; killed (and reaped) if still running."""
        with subprocess.Popen(
            [*ENTRY, *self.command],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            try:
                yield process
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()

    def sync(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ENTRY, *self.command],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def get(self, path: str, **params: str | int) -> Any:
        return httpx.get(f"{self.server.base_url}{path}", params=params, timeout=10).json()

    def reset_stats(self) -> None:
        httpx.post(f"{self.server.base_url}/emulator/reset-stats", timeout=10)

    def restart_monday(self) -> None:
        """monday restarted: its idempotency cache is gone, its held requests never ran."""
        self.held.drop()
        answer = httpx.post(
            f"{self.server.base_url}/emulator/idempotency", json={"forget": True}, timeout=10
        )
        assert answer.status_code == 200, answer.text

    def mutations(self) -> dict[str, int]:
        return dict(self.get("/emulator/stats")["mutations"])

    def lock_owner(self) -> str | None:
        locks = self.db.tables.locks
        with self.db.engine.connect() as connection:
            owner = connection.execute(
                sa.select(locks.c.owner).where(locks.c.board_id == int(CMS_BOARD_ID))
            ).scalar_one_or_none()
        return None if owner is None else str(owner)


@contextmanager
def make_rig(
    url: str,
    config: SyncConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limits: Limits | None = None,
) -> Iterator[Rig]:
    """What ``ordersync init-db`` and ``ordersync demo-data`` do (in-process, to keep the file
    fast; the CLI path of both is covered by test_cli.py), and a fresh emulator over HTTP
    (with ``limits``, else a Pro account's)."""
    db = Database.connect(url, config.tables)
    upgrade(db.engine, config.tables)
    fill_demo_orders(
        db.engine,
        create_source_table(db.engine, config.source.table, config.source.db_schema, replace=True),
    )
    emulator = Emulator(seed=True, limits=limits)
    held = HeldRequests(emulator.wsgi_app)
    emulator.wsgi_app = held  # type: ignore[assignment]
    clock = SimpleNamespace(sleep=held.sleep)
    monkeypatch.setattr(ordersync.emulator.app, "time", clock)
    monkeypatch.setattr(ordersync.emulator.server, "time", clock)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    try:
        with emulator.serve(host="127.0.0.1", port=0) as server:
            env.update(
                ORDERSYNC_DATABASE_URL=url,
                MONDAY_API_URL=server.url,
                MONDAY_API_TOKEN="kill-test-token",
                HOME=str(tmp_path),
            )
            try:
                yield Rig(emulator, server, held, db, config, env, tmp_path)
            finally:
                held.release()
    finally:
        db.engine.dispose()


@pytest.fixture
def rig(
    db_url: str, config: SyncConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """A rig on SQLite and on PostgreSQL."""
    with make_rig(db_url, config, tmp_path, monkeypatch) as made:
        yield made


@pytest.fixture
def sqlite_rig(
    sqlite_url: str, config: SyncConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """A rig on SQLite only (the lock logic under test is the same on every dialect)."""
    with make_rig(sqlite_url, config, tmp_path, monkeypatch) as made:
        yield made


def wait_until(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[str] | None = None
) -> None:
    """Poll ``condition``; fail clearly after PATIENCE seconds or if ``process`` exits."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"sync exited {process.returncode} before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {PATIENCE:.0f} s waiting for {what}")
        time.sleep(POLL)


def owner_pid(owner: str | None) -> int | None:
    """The pid in a lock owner ``host:pid:random`` of this host."""
    if owner is None:
        return None
    host, pid, _ = owner.split(":")
    assert host == socket.gethostname()
    return int(pid)


def sync_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert LOCKED not in done.stderr, "the stale lock of the killed run was not taken over"
    assert done.returncode == 0, (done.stdout, done.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ------------------------------------------------------------------------------ checks
def expected_board(rig: Rig) -> tuple[set[str], set[tuple[str, str]]]:
    """The keys and (key, size) pairs the board must hold, straight from the source."""
    source = reflect_source(rig.db.engine, rig.config)
    keys: set[str] = set()
    sizes: set[tuple[str, str]] = set()
    with rig.db.engine.connect() as connection:
        for row in connection.execute(select_scope(source, rig.config, GREYSON)).mappings():
            keys.add(row["AAG ORDER NUMBER"])
            sizes.update((row["AAG ORDER NUMBER"], s) for s in source.size_columns if row[s])
    return keys, sizes


def assert_exactly_once(rig: Rig) -> None:
    """The board holds every line and size once; ordersync's tables agree and are settled."""
    items = [i for i in rig.get("/emulator/items", board_id=CMS_BOARD_ID) if i["state"] == "active"]
    keys = [i["texts"][KEY_COLUMN] for i in items]
    assert len(items) == ITEMS, f"{len(items)} items on the board"
    assert len(set(keys)) == ITEMS, "duplicate items on the board"
    key_of = {str(i["id"]): i["texts"][KEY_COLUMN] for i in items}
    subitems = [
        s
        for s in rig.get("/emulator/items", board_id=CMS_SUBITEMS_BOARD_ID)
        if s["state"] == "active"
    ]
    pairs = [(str(s["parent_id"]), s["texts"][SIZE_COLUMN]) for s in subitems]
    assert len(subitems) == SUBITEMS, f"{len(subitems)} subitems on the board"
    assert len(set(pairs)) == SUBITEMS, "duplicate subitems (parent, size) on the board"
    assert all(parent in key_of for parent, _ in pairs), "a subitem under no active item"
    expected_keys, expected_sizes = expected_board(rig)
    assert set(keys) == expected_keys
    assert {(key_of[parent], size) for parent, size in pairs} == expected_sizes

    titles = [g.title for g in rig.emulator.store.board(CMS_BOARD_ID).groups.values()]
    assert len(titles) == len(set(titles)), f"duplicate groups: {titles}"

    t = rig.db.tables
    with rig.db.engine.connect() as connection:
        mirror = {r.order_key: r.monday_item_id for r in connection.execute(sa.select(t.items))}
        mirror_subitems = connection.execute(
            sa.select(sa.func.count()).select_from(t.subitems)
        ).scalar_one()
        pending = sum(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.status == RowStatus.PENDING)
            ).scalar_one()
            for table in (t.staged_items, t.staged_subitems)
        )
        sending = connection.execute(
            sa.select(sa.func.count())
            .select_from(t.journal)
            .where(t.journal.c.state == JournalState.SENDING)
        ).scalar_one()
    assert mirror == {i["texts"][KEY_COLUMN]: int(i["id"]) for i in items}
    assert (mirror_subitems, pending, sending) == (SUBITEMS, 0, 0)
    assert rig.lock_owner() is None, "the lock was not released"


def assert_quantities(rig: Rig) -> None:
    """Each size's quantity on the board is the source's."""
    source = reflect_source(rig.db.engine, rig.config)
    expected: dict[tuple[str, str], float] = {}
    with rig.db.engine.connect() as connection:
        for row in connection.execute(select_scope(source, rig.config, GREYSON)).mappings():
            key = row["AAG ORDER NUMBER"]
            expected.update(((key, s), float(row[s])) for s in source.size_columns if row[s])
    items = rig.get("/emulator/items", board_id=CMS_BOARD_ID)
    key_of = {str(i["id"]): i["texts"][KEY_COLUMN] for i in items if i["state"] == "active"}
    on_board = {
        (key_of[str(s["parent_id"])], s["texts"][SIZE_COLUMN]): float(s["texts"][QTY_COLUMN])
        for s in rig.get("/emulator/items", board_id=CMS_SUBITEMS_BOARD_ID)
        if s["state"] == "active"
    }
    assert len(expected) == SUBITEMS
    assert on_board == expected


def assert_nothing_more_to_send(rig: Rig) -> None:
    rig.reset_stats()
    result = sync_json(rig.sync())
    assert result["status"] == "NO_CHANGES"
    assert rig.mutations() == {}


# ------------------------------------------------------------------------------ kills
@dataclass(frozen=True)
class KillPoint:
    """Where to kill: the fault that holds the run there, how to see it got there, and the
    mutations monday has applied by then (items and subitems go 50 to a request)."""

    name: str
    fault: Fault
    reached: Callable[[Emulator], bool]
    applied: dict[str, int]


def latency_fired(emulator: Emulator) -> bool:
    return emulator.stats.to_dict()["faults"].get("latency", 0) >= 1


def applied(field: str) -> Callable[[Emulator], bool]:
    return lambda emulator: emulator.stats.to_dict()["mutations"].get(field, 0) >= 1


KILL_POINTS = [
    # The first request is the board read, made under the lock right before planning: the
    # kill lands after the lock row is written and before anything is planned or staged.
    # (Planning is one transaction; a kill inside it leaves the same state.)
    KillPoint(
        "before-planning", Fault(kind="latency", match="boards", delay=HOLD), latency_fired, {}
    ),
    # Planned and staged, the group created, the first create_item sent but not applied.
    KillPoint(
        "create_item-held",
        Fault(kind="latency", match="create_item", delay=HOLD),
        latency_fired,
        {"create_group": 1},
    ),
    # Between items and subitems: every item created, the first create_subitem not applied.
    KillPoint(
        "between-items-and-subitems",
        Fault(kind="latency", match="create_subitem", delay=HOLD),
        latency_fired,
        {"create_group": 1, "create_item": ITEMS},
    ),
    # The first 50 subitems applied by monday, the answer never recorded.
    KillPoint(
        "create_subitem-applied",
        Fault(kind="timeout", match="create_subitem", after_apply=True, delay=HOLD),
        applied("create_subitem"),
        {"create_group": 1, "create_item": ITEMS, "create_subitem": 50},
    ),
]


@pytest.mark.parametrize("restarted", [False, True], ids=["monday-caches", "monday-restarted"])
@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda p: p.name)
def test_sigkill_loses_and_duplicates_nothing(rig: Rig, point: KillPoint, restarted: bool) -> None:
    """SIGKILL at ``point``; the next run takes over the stale lock and finishes the job
    (also after monday restarted and forgot every idempotency key)."""
    rig.emulator.inject(replace(point.fault))  # a copy: the emulator counts a fault down
    with rig.start_sync() as killed:
        wait_until(lambda: point.reached(rig.emulator), f"the run to reach {point.name}", killed)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)  # reaped, as a shell would: its pid no longer runs
    assert killed.returncode == -signal.SIGKILL
    assert rig.mutations() == point.applied
    assert owner_pid(rig.lock_owner()) == killed.pid, "the killed run left no lock row"
    if restarted:
        rig.restart_monday()

    result = sync_json(rig.sync())
    assert result["status"] in ("BATCH_COMPLETED", "NO_CHANGES"), result
    batches = [*result["resumed_batches"], *([result["batch"]] if result["batch"] else [])]
    assert [b["status"] for b in batches] == ["BATCH_COMPLETED"], batches
    batch = batches[0]
    assert batch["items_created"] + batch["items_adopted"] == ITEMS, batch
    assert batch["subitems_created"] + batch["subitems_adopted"] == SUBITEMS, batch

    rig.held.release()  # monday now answers what the killed run left in flight
    assert rig.mutations() == ONCE, "monday applied something twice"
    assert_exactly_once(rig)
    assert_nothing_more_to_send(rig)


# ------------------------------------------------------------------------------ concurrency
def test_two_runs_at_once_never_both_deliver(rig: Rig) -> None:
    """Two ``sync`` started together: the one that gets the lock is held in its first
    create_item (so they overlap for sure); the other must stop at the lock, exit 1 and leave
    the holder's lock alone. Then the holder is let go and delivers everything, once."""
    rig.emulator.inject(Fault(kind="latency", match="create_item", delay=HOLD))
    with rig.start_sync() as one, rig.start_sync() as two:
        runs = (one, two)
        wait_until(lambda: any(run.poll() is not None for run in runs), "one run to exit")
        loser = next(run for run in runs if run.poll() is not None)
        winner = two if loser is one else one
        _, loser_err = loser.communicate()
        assert loser.returncode == 1, loser_err
        assert LOCKED in loser_err
        assert "Traceback" not in loser_err
        wait_until(
            lambda: latency_fired(rig.emulator), "the lock holder to reach create_item", winner
        )
        assert owner_pid(rig.lock_owner()) == winner.pid, "the loser touched the holder's lock"
        assert rig.mutations() == {"create_group": 1}, "the loser sent something"

        rig.held.release()
        winner_out, winner_err = winner.communicate(timeout=60)
    assert winner.returncode == 0, winner_err
    result = json.loads(winner_out)
    assert (result["status"], result["items_created"], result["subitems_created"]) == (
        "BATCH_COMPLETED",
        ITEMS,
        SUBITEMS,
    )
    assert rig.mutations() == ONCE
    assert_exactly_once(rig)
    assert_nothing_more_to_send(rig)


def test_a_live_run_whose_lock_expired_is_not_joined_by_another(sqlite_rig: Rig) -> None:
    """A run stalled in one request longer than the lock's time to live must not end up
    delivering alongside a second run. Simulated: the first run is held in its first
    create_item and its lock row's expiry is moved into the past; a second run starts and
    is held in its first create_subitem; the first is let go, then the second.

    The second run refuses to take over a lock whose holder still runs on this host, however
    old the lock; the first run finishes; the board ends with every line and size once."""
    rig = sqlite_rig
    rig.emulator.inject(Fault(kind="latency", match="create_item", delay=HOLD))
    with rig.start_sync() as first:
        wait_until(lambda: rig.held.count == 1, "the first run to be held in create_item", first)
        locks = rig.db.tables.locks
        with rig.db.engine.begin() as connection:
            connection.execute(locks.update().values(expires_at=utcnow() - timedelta(seconds=1)))
        rig.emulator.inject(Fault(kind="latency", match="create_subitem", delay=HOLD))
        with rig.start_sync() as second:
            wait_until(lambda: second.poll() is not None, "the second run to stop at the lock")
            _, second_err = second.communicate(timeout=60)
            assert second.returncode == 1, "the second run must not join a live holder"
            assert LOCKED in second_err
            rig.held.release()
            first.communicate(timeout=60)
            assert first.returncode == 0
    finish = rig.sync()  # whatever a stopped run left, the next run finishes
    assert finish.returncode == 0, finish.stderr
    assert rig.mutations() == ONCE, "monday applied something twice"
    assert_exactly_once(rig)


# ------------------------------------------------------------------------------ import jobs
BULK_LIMITS = Limits(bulk_url_ttl=6.0, bulk_job_seconds=1.0, bulk_rows_per_second=200.0)
"""Upload URLs that expire in seconds instead of monday's 10 minutes (a resumed run outwaits
the URL a killed run may still use), and a job that processes the 333 rows in about 2.7 s."""
BULK_CONFIG = "\n[delivery.bulk]\npoll_seconds = 0.2\n"


@pytest.fixture
def bulk_rig(
    db_url: str, config: SyncConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """A rig (SQLite and PostgreSQL) whose ``sync`` sends item creates through import jobs."""
    builtin = (resources.files("ordersync") / "builtin" / "cms.toml").read_text("utf-8")
    path = tmp_path / "ordersync.toml"
    path.write_text(builtin + BULK_CONFIG, encoding="utf-8")
    with make_rig(db_url, config, tmp_path, monkeypatch, BULK_LIMITS) as made:
        made.env["ORDERSYNC_CONFIG"] = str(path)
        made.command = (*SYNC, "--bulk", "always")
        yield made


def import_jobs(rig: Rig) -> list[dict[str, Any]]:
    """monday's import jobs, oldest first (``GET /emulator/bulk/jobs``)."""
    jobs: list[dict[str, Any]] = rig.get("/emulator/bulk/jobs")
    return jobs


def job_statuses(rig: Rig) -> list[str]:
    return [job["status"] for job in import_jobs(rig)]


def journalled_jobs(rig: Rig) -> list[tuple[str, str]]:
    """ordersync's bulk journal: (job id, state), oldest first."""
    jobs = rig.db.tables.bulk_jobs
    with rig.db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(jobs.c.job_id, jobs.c.state).order_by(jobs.c.started_at, jobs.c.job_id)
        ).all()
    return [(str(row.job_id), str(row.state)) for row in rows]


def emulated_url_lifetime(rig: Rig) -> None:
    """The journal assumes monday's 10-minute upload URLs; the emulated ones live
    ``BULK_LIMITS.bulk_url_ttl`` seconds: tell the journal, as monday would have."""
    jobs = rig.db.tables.bulk_jobs
    with rig.db.engine.begin() as connection:
        for job_id, started_at in connection.execute(sa.select(jobs.c.job_id, jobs.c.started_at)):
            expires = started_at + timedelta(seconds=BULK_LIMITS.bulk_url_ttl)
            connection.execute(
                jobs.update().where(jobs.c.job_id == job_id).values(upload_expires_at=expires)
            )


def upload_held(rig: Rig, run: subprocess.Popen[str]) -> None:
    """Started and journalled; its file ``PUT`` held before monday stores it."""
    rig.held.uploads_held = True
    wait_until(lambda: rig.held.count == 1, "the import file's upload", run)


def uploaded_answer_held(rig: Rig, run: subprocess.Popen[str]) -> None:
    """monday stored the file and processes it; the answer to the ``PUT`` is held."""
    rig.emulator.inject(Fault(kind="timeout", match="upload", delay=HOLD))
    wait_until(lambda: rig.held.count == 1, "the upload's answer to be held", run)


def completed_read_back_held(rig: Rig, run: subprocess.Popen[str]) -> None:
    """The job COMPLETED and the run saw it; its read-back of the board by key is held, so
    nothing of the job is recorded. (The fault is injected once the job processes: the read
    by key before the job starts must pass.)"""
    wait_until(lambda: job_statuses(rig) == [PROCESSING], "the job to process", run)
    rig.emulator.inject(Fault(kind="latency", match="items_page_by_column_values", delay=HOLD))
    wait_until(lambda: rig.held.count == 1, "the read-back of the completed job", run)


@dataclass(frozen=True)
class JobStep:
    """A step of the import job to kill at: how to hold the run there, monday's job status
    and the journal's state of the job at the kill."""

    name: str
    reach: Callable[[Rig, subprocess.Popen[str]], None]
    status: str
    journalled: BulkJobState


JOB_STEPS = [
    JobStep("started", upload_held, UPLOAD_PENDING, BulkJobState.STARTED),
    JobStep("processing", uploaded_answer_held, PROCESSING, BulkJobState.STARTED),
    JobStep("completed", completed_read_back_held, COMPLETED, BulkJobState.UPLOADED),
]


@pytest.mark.parametrize("step", JOB_STEPS, ids=lambda s: s.name)
def test_sigkill_at_an_import_job_step_loses_and_duplicates_nothing(
    bulk_rig: Rig, step: JobStep
) -> None:
    """``sync --bulk always`` killed at ``step``; the next run settles the job the killed run
    left open (waits out its upload URL, or polls it to its end and reads the board back)
    and delivers every line and size once. What the killed run left in flight reaches
    monday only after that: a file that arrives then is refused (its URL has expired)."""
    rig = bulk_rig
    with rig.start_sync() as killed:
        step.reach(rig, killed)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL
    rig.held.uploads_held = False  # the uploads of the next run go through
    assert job_statuses(rig) == [step.status]
    [job] = import_jobs(rig)
    assert journalled_jobs(rig) == [(str(job["job_id"]), step.journalled)]
    assert owner_pid(rig.lock_owner()) == killed.pid, "the killed run left no lock row"
    emulated_url_lifetime(rig)

    result = sync_json(rig.sync())
    batches = [*result["resumed_batches"], *([result["batch"]] if result["batch"] else [])]
    assert [b["status"] for b in batches] == ["BATCH_COMPLETED"], batches
    batch = batches[0]
    assert batch["items_created"] + batch["items_adopted"] == ITEMS, batch
    assert batch["subitems_created"] + batch["subitems_adopted"] == SUBITEMS, batch

    rig.held.release()  # monday now gets what the killed run left in flight
    jobs = import_jobs(rig)
    assert sum(j["done"] for j in jobs) == ITEMS + SUBITEMS, f"rows imported twice: {jobs}"
    late = [j for j in jobs if j["status"] not in (COMPLETED, UPLOAD_PENDING)]
    assert not late, f"a file the killed run left in flight was taken: {late}"
    settled = {BulkJobState.SETTLED, BulkJobState.ABANDONED}
    assert {state for _, state in journalled_jobs(rig)} <= settled, "a job was left open"
    assert rig.mutations().get("create_item", 0) == 0, "items went by mutation, not by job"
    assert_exactly_once(rig)
    assert_quantities(rig)
    assert_nothing_more_to_send(rig)
