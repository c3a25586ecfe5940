"""Shared fixtures: databases (SQLite file and a PostgreSQL schema per test), the built-in
configuration, the monday emulator with a client wired to it in-process, and ``synced``: the
demo database and board after a sync of GREYSON PO 4755, copied per test from one template.

PostgreSQL tests use ``ORDERSYNC_TEST_PG_URL`` (default: the local server). Where no server
answers they skip with a reason, except under ``CI=true``, where that is a failure.

Tests are marked ``slow`` here, in one list (``SLOW``), and ``make test-fast`` leaves them
out: subprocess and hypothesis tests, and end-to-end tests that take long on their own.
"""

from __future__ import annotations

import copy
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_support import GREYSON, Person
from helpers.support import IN_CI, PG_URL, demo_database
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.sync import run_sync

# ------------------------------------------------------------------------------ slow tests
SLOW: dict[str, tuple[str, ...] | None] = {
    # module (relative to tests/) → test function names, or None for every test in it
    "db/test_lock.py": ("test_a_killed_holder_on_this_host_is_taken_over",),  # subprocess
    "test_changes_state_machine.py": None,  # hypothesis state machine
    "test_cli.py": None,  # subprocess
    "test_kill.py": None,  # subprocess, SIGKILL
    "test_exactly_once.py": ("test_random_fault_schedules",),  # hypothesis
    "test_pull.py": ("test_pull_and_sync_pull_from_the_command_line",),  # subprocess
    "test_serve.py": (  # subprocess
        "test_serve_and_webhooks_install_from_the_command_line",
        "test_serve_does_not_start_without_authentication",
        "test_a_refused_cli_run_names_the_holder_and_can_wait",
    ),
    "test_errors_command.py": ("test_messages_are_printed_as_they_are",),  # subprocess
    "test_report.py": ("test_report_from_the_command_line",),  # subprocess
    "ui/test_serve_dashboard.py": None,  # subprocess
    "test_chunking.py": (  # end to end over HTTP under a tiny budget: 6-11 s each
        "test_a_budget_smaller_than_a_chunk_of_50_is_filled_without_a_429",
        "test_a_resend_after_a_crash_carries_its_journal_entry_not_a_new_chunking",
    ),
    "test_cli_book.py": (
        "test_a_book_sync_lists_each_customers_first_rejected_rows",
    ),  # subprocess
    "test_cli_startup.py": None,  # subprocess
    "test_db_faults.py": None,  # real PostgreSQL, terminated backends, a private cluster
    "test_bulk.py": (  # end to end, one sync (or two) per case, over 5 s each
        "test_threshold_and_mode_choose_the_import",
        "test_a_failed_job_s_rows_go_by_mutation",
        "test_refusals_stop_the_batch_resumable_or_fall_back",
        "test_killed_at_a_job_step_then_resumed",
        "test_killed_after_the_job_completed_then_resumed",
    ),
}
"""Where the ``slow`` marker goes. Tests using hypothesis's ``@given`` are marked too."""

TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


def is_slow(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    if getattr(function, "is_hypothesis_test", False):
        return True
    try:
        module = item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return False
    if module not in SLOW:
        return False
    names = SLOW[module]
    return names is None or getattr(item, "originalname", item.name) in names


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not available here"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


_PG_PROBLEM = _postgres_available()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    message = f"PostgreSQL at {PG_URL} is not available ({_PG_PROBLEM})"
    if IN_CI:
        pytest.fail(message + "; under CI=true PostgreSQL tests must run")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ordersync.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def config() -> SyncConfig:
    """The built-in Customer Master Schedule configuration."""
    return load_builtin_config()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """ordersync's tables and the demo ORDERS_UNIFIED (GREYSON PO 4755 and friends)."""
    database = demo_database(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    """A fresh monday (board 4755559751 seeded) on the test's clock."""
    return Emulator(clock=clock, seed=True)


@pytest.fixture
def client(emulator: Emulator, clock: ManualClock) -> Iterator[MondayClient]:
    """The real client, talking to the emulator in-process."""
    with MondayClient(
        "http://emulator.test/v2", "test-token", transport=emulator.transport(), clock=clock
    ) as monday:
        yield monday


@pytest.fixture
def person(emulator: Emulator) -> Iterator[Person]:
    """Someone editing the ``emulator``'s board by hand (their requests are not the client's)."""
    someone = Person(emulator)
    yield someone
    someone.close()


# ------------------------------------------------------------------------------ synced
@dataclass
class SyncedTemplate:
    """A database synced once, and the board state the sync left on the emulator."""

    url: str
    board: dict[str, Any]
    file: Path | None = None  # SQLite: the database file
    database: str | None = None  # PostgreSQL: the template database's name


def _sync_greyson(url: str, config: SyncConfig) -> dict[str, Any]:
    database = demo_database(url)
    clock = ManualClock()
    emulator = Emulator(clock=clock, seed=True)
    try:
        with MondayClient(
            "http://emulator.test/v2", "test-token", transport=emulator.transport(), clock=clock
        ) as client:
            assert run_sync(database, config, client, GREYSON).exit_code == 0
        return emulator.store.to_dict()
    finally:
        emulator.close()
        database.engine.dispose()


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    return sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def synced_template(
    tmp_path_factory: pytest.TempPathFactory, config: SyncConfig
) -> Iterator[Callable[[str], SyncedTemplate]]:
    """``backend`` → its template, built on first use and kept for the session."""
    made: dict[str, SyncedTemplate] = {}

    def get(backend: str) -> SyncedTemplate:
        if backend not in made:
            if backend == "sqlite":
                file = tmp_path_factory.mktemp("synced") / "template.db"
                url = f"sqlite:///{file}"
                made[backend] = SyncedTemplate(url, _sync_greyson(url, config), file=file)
            else:
                name = f"t_tmpl_{uuid.uuid4().hex[:12]}"
                admin = _pg_admin()
                with admin.connect() as connection:
                    connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
                url = _pg_url(name)
                made[backend] = SyncedTemplate(url, _sync_greyson(url, config), database=name)
        return made[backend]

    yield get
    for template in made.values():
        if template.database is not None:
            admin = _pg_admin()
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE "{template.database}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def synced(
    request: pytest.FixtureRequest,
    synced_template: Callable[[str], SyncedTemplate],
    emulator: Emulator,
    tmp_path: Path,
) -> Iterator[Database]:
    """GREYSON PO 4755 after a clean sync: the database (SQLite and PostgreSQL) and the
    ``emulator``'s board. Both are copies of a template synced once per session (a file
    copy; ``CREATE DATABASE … TEMPLATE``), so each test starts from the same state."""
    if request.param == "postgres":
        require_postgres()
    template = synced_template(request.param)
    emulator.store.load_dict(copy.deepcopy(template.board))
    if template.file is not None:
        file = tmp_path / "ordersync.db"
        shutil.copyfile(template.file, file)
        database = Database.connect(f"sqlite:///{file}")
        yield database
        database.engine.dispose()
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"'))
    database = Database.connect(_pg_url(name))
    yield database
    database.engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
