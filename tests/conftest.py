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
import fnmatch
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_support import GREYSON, Person
from helpers.pg_schemas import copy_schema, drop_schema, new_schema, schema_url
from helpers.support import IN_CI, PG_URL, demo_database
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.sync import run_sync

# ------------------------------------------------------------------------------ slow tests
SLOW: dict[str, tuple[str, ...] | None] = {
    # module (relative to tests/) → test function names, or None for every test in it; a name
    # may end in a glob of its cases' ids, "test_x[postgres-*]": those cases only
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
MATCHED: dict[tuple[str, str], int] = {}
"""(module, SLOW entry) → how many collected tests it marked, for entries with a glob (filled
when a module is collected; ``test_slow_list`` checks that no glob marks nothing)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    whole_modules = not any("::" in arg for arg in config.args)  # else a glob may miss
    for item in items:
        module, entry = slow_entry(item)
        if entry is not None or getattr(getattr(item, "function", None), "is_hypothesis_test", 0):
            item.add_marker(pytest.mark.slow)
        if whole_modules and module in SLOW:
            for listed in SLOW[module] or ():
                if "[" in listed:
                    MATCHED.setdefault((module, listed), 0)
            if entry is not None and "[" in entry:
                MATCHED[(module, entry)] += 1


def slow_entry(item: pytest.Item) -> tuple[str, str | None]:
    """``item``'s module (relative to tests/) and the SLOW entry that names it (``"*"`` for
    a whole module), or None."""
    try:
        module = item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return "", None
    if module not in SLOW:
        return module, None
    names = SLOW[module]
    if names is None:
        return module, "*"
    name = getattr(item, "originalname", item.name)
    case = (
        item.callspec.id if isinstance(item, pytest.Function) and hasattr(item, "callspec") else ""
    )
    for entry in names:
        function, _, glob = entry.partition("[")
        if function == name and (not glob or fnmatch.fnmatchcase(case, glob[:-1])):
            return module, entry
    return module, None


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
    schema = new_schema()
    yield schema_url(schema)
    drop_schema(schema)


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
    schema: str | None = None  # PostgreSQL: the template schema


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
                schema = new_schema("t_tmpl")
                url = schema_url(schema)
                made[backend] = SyncedTemplate(url, _sync_greyson(url, config), schema=schema)
        return made[backend]

    yield get
    for template in made.values():
        if template.schema is not None:
            drop_schema(template.schema)


@pytest.fixture(params=["sqlite", "postgres"])
def synced(
    request: pytest.FixtureRequest,
    synced_template: Callable[[str], SyncedTemplate],
    emulator: Emulator,
    tmp_path: Path,
) -> Iterator[Database]:
    """GREYSON PO 4755 after a clean sync: the database (SQLite and PostgreSQL) and the
    ``emulator``'s board. Both are copies of a template synced once per session (a file
    copy; a schema copy, ``helpers.pg_schemas``), so each test starts from the same state."""
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
    assert template.schema is not None
    schema = copy_schema(template.schema)
    database = Database.connect(schema_url(schema))
    yield database
    database.engine.dispose()
    drop_schema(schema)


@pytest.fixture
def synced_board(
    request: pytest.FixtureRequest,
    synced: Database,
    synced_template: Callable[[str], SyncedTemplate],
) -> dict[str, Any]:
    """The board that goes with ``synced``, for a test that makes its own emulator (other
    limits, real HTTP, its own webhook transport): ``emulator.store.load_dict(synced_board)``.
    A test can keep ``synced`` to one backend with
    ``@pytest.mark.parametrize("synced", ["sqlite"], indirect=True)``."""
    backend = request.node.callspec.params["synced"]
    return copy.deepcopy(synced_template(backend).board)
