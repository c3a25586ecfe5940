"""Shared fixtures: databases (SQLite file and a PostgreSQL schema per test), the built-in
configuration, the monday emulator with a client wired to it in-process, and databases that
start from a prepared state, each copied per test from a template made once per session
(``templates``): ``db`` (the demo data; SQLite), ``migrated`` (the tables alone; SQLite),
``synced`` (the demo database and board after a sync of GREYSON PO 4755) and ``history``
(two syncs, a pull, an event and a lock, for the report, metrics and dashboard tests).

PostgreSQL tests use ``ORDERSYNC_TEST_PG_URL`` (default: the local server). Where no server
answers they skip with a reason, except under ``CI=true``, where that is a failure.

Tests are marked ``slow`` here, in one list (``SLOW``), and ``make test-fast`` leaves them
out: subprocess and hypothesis tests, end-to-end tests beyond a few cases per guarantee, and
PostgreSQL cases outside ``FAST_POSTGRES`` (``make test`` runs everything).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_support import Person
from helpers.dashboard_support import History, make_history
from helpers.pg_schemas import drop_schema, new_schema, schema_url
from helpers.slow_cases import MATCHED
from helpers.support import backend_of, demo_database, require_postgres
from helpers.templates import Builder, Template, build_template, copy_of, sync_greyson
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient

# ------------------------------------------------------------------------------ slow tests
FAST_POSTGRES = ("db/",)
"""Where a test's PostgreSQL cases (ids with "postgres") stay in the fast set; elsewhere they
are slow: ``make test-fast`` runs every other test on SQLite, ``make test`` on both."""

SLOW: dict[str, tuple[str, ...] | None] = {
    # module (relative to tests/) → test function names, or None for every test in it; a name
    # may end in a glob of its cases' ids, "test_x[*-create_group]": those cases only.
    #
    # End to end (a full sync of GREYSON PO 4755 through the emulator: 1.5-4 s of CPU a case):
    # the fast set keeps a few cases per guarantee, the rest of each matrix runs in `make test`.
    # Fast-set guards: exactly once and crash recovery — test_exactly_once (five cases: a
    # crash after a create with monday's cache and without it, a lost answer, two database
    # steps), test_deliver (journal, lost answers, resend window), test_deliver_limits::
    # test_a_crash_between_the_two_keys…, test_integrity's group move; plan/deliver —
    # test_sync, test_changes::test_every_kind…, test_plan, test_deliver, test_rows,
    # test_duplicate_keys, test_alias_errors and test_resend_window (kept cases); pull —
    # test_pull, test_subitem_drift, test_recorder, test_missing, test_mirror.
    "db/test_lock.py": ("test_a_killed_holder_on_this_host_is_taken_over",),  # subprocess
    "test_changes_state_machine.py": None,  # hypothesis state machine
    "test_cli.py": None,  # subprocess
    "test_cli_book.py": None,  # subprocess (test_cli.run)
    "test_cli_startup.py": None,  # subprocess
    "test_kill.py": None,  # subprocess, SIGKILL
    "test_db_faults.py": None,  # real PostgreSQL, terminated backends, a private cluster
    "ui/test_serve_dashboard.py": None,  # subprocess
    "ui/test_browser.py": None,  # a real Chrome (selenium), end to end
    "ui/test_demo_dashboard.py": ("test_the_demo_ends_with_its_dashboard_command",),  # 25 s
    "test_errors_command.py": (  # subprocess (the runner fixture)
        "test_messages_are_printed_as_they_are",
        "test_sync_and_errors_show_the_rejected_rows",
        "test_a_clean_sync_prints_no_rejected_rows",
    ),
    "test_report.py": ("test_report_from_the_command_line",),  # subprocess
    "test_pull.py": (
        "test_pull_and_sync_pull_from_the_command_line",  # subprocess
        "test_dates_are_pulled_as_dates",  # end to end: its own sync under another config
    ),
    "test_serve.py": (  # subprocess
        "test_serve_and_webhooks_install_from_the_command_line",
        "test_serve_does_not_start_without_authentication",
        "test_a_refused_cli_run_names_the_holder_and_can_wait",
    ),
    "test_demo.py": ("test_the_demo_runs_end_to_end",),  # end to end, 17 s under load
    "test_exactly_once.py": (  # end to end, a sync and its resumes per case
        "test_random_fault_schedules",  # hypothesis
        "test_killed_around_a_mutation[*-create_group]",
        "test_killed_around_a_mutation[*crash_before*]",
        "test_killed_around_a_mutation[sqlite-monday-caches-lookup-*]",
        "test_killed_around_a_mutation[sqlite-monday-forgets-resend-same-key-*]",
        "test_killed_around_a_mutation[sqlite-monday-caches-resend-same-key-*-create_subitem]",
        "test_killed_around_a_mutation[sqlite-monday-forgets-lookup-*-create_item]",
        "test_monday_faults_lose_and_duplicate_nothing[sqlite-monday-caches-*]",
        "test_monday_faults_lose_and_duplicate_nothing[*-status-*]",
        "test_monday_faults_lose_and_duplicate_nothing[*-partial_errors-*]",
        "test_monday_faults_lose_and_duplicate_nothing[*-timeout-*]",
        "test_monday_faults_lose_and_duplicate_nothing[*-lost_response--create_item]",
        "test_killed_at_a_database_step[sqlite-monday-caches-*]",
        "test_killed_at_a_database_step[*-while planning]",
        "test_killed_at_a_database_step[*-before the batch is recorded]",
        "test_killed_at_a_database_step[*-while recording subitem answers]",
        "test_killed_at_a_database_step[*-at a stage boundary]",
    ),
    "test_chunking.py": (  # end to end over HTTP under a tiny budget: 6-11 s each
        "test_a_budget_smaller_than_a_chunk_of_50_is_filled_without_a_429",
        "test_a_resend_after_a_crash_carries_its_journal_entry_not_a_new_chunking",
        "test_requests_are_filled_up_to_the_configured_size_and_no_further[*-10-25]",
    ),
    "test_bulk.py": (  # end to end, one sync (or two) per case
        "test_threshold_and_mode_choose_the_import",
        "test_a_failed_job_s_rows_go_by_mutation",
        "test_refusals_stop_the_batch_resumable_or_fall_back",
        "test_killed_at_a_job_step_then_resumed",
        "test_killed_after_the_job_completed_then_resumed",
        "test_a_second_sync_of_a_bulk_load_changes_nothing",
        "test_backfill_uses_backfill_items",
        "test_the_ingest_budget_refuses_a_job_and_auto_falls_back",
        "test_backfill_without_an_admin",
        "test_job_starts_over_the_hourly_limit",
        "test_rows_a_completed_job_did_not_create_are_err_rows",
        "test_a_lost_upload_answer_is_not_an_expired_url",
    ),
    "test_alias_errors.py": (  # end to end
        "test_a_retryable_error_on_one_alias_leaves_the_row_pending_and_it_is_sent_again[*-423-*]",
        "test_a_retryable_error_on_one_alias_leaves_the_row_pending_and_it_is_sent_again[*-create_subitem]",
        "test_a_size_monday_refused_is_sent_again_by_the_next_sync",
        "test_a_permanent_error_on_one_alias_fails_only_that_row",  # and test_deliver's
        "test_a_row_refused_retryably_every_time_is_given_up_after_five_sends",
    ),
    "test_resend_window.py": (  # end to end
        "test_a_lost_answer_is_resolved_by_lookup_whatever_the_time_down[*-5]",
        "test_a_lost_answer_is_resolved_by_lookup_whatever_the_time_down[*-90]",
        "test_a_request_found_nowhere_is_resent_under_its_key_only_within_the_cache_window[*-90]",
    ),
    "test_changes.py": (  # end to end
        "test_a_cleared_value_is_cleared_on_the_board",
        "test_cancelled_lines_follow_the_rule",
        "test_a_run_never_archives_outside_its_scope",
        "test_dry_run_shows_the_diff",
        "test_a_line_that_comes_back_is_recreated_not_duplicated",
    ),
    "test_sync.py": (  # end to end
        "test_item_values_arrive_intact",
        "test_items_already_on_the_board_are_adopted",
        "test_a_label_the_board_lacks_is_rejected_not_created",
    ),
    "test_integrity.py": (  # end to end, two or more syncs per case
        "test_a_moved_line_is_the_same_item_updated",
        "test_a_line_moved_back_and_forth_stays_one_item",
        "test_one_key_under_two_scopes_is_rejected_not_flip_flopped",
        "test_an_emptied_scope_is_not_archived_by_accident",
        "test_a_small_scope_may_lose_a_few_lines",
        "test_limit_still_counts_unchanged_lines",
        "test_adopted_items_are_corrected_in_the_same_sync",
        "test_a_group_move_is_journalled_and_done_once[*crash_before]",
    ),
    "test_bad_rows.py": None,  # end to end (test_sync keeps bad rows in the fast set)
    "test_deactivated_labels.py": None,  # end to end
    "test_check_board.py": ("test_a_label_the_board_lacks_is_a_problem_naming_the_lines",),
    "test_deliver_limits.py": (  # end to end
        "test_a_board_at_its_item_limit_stops_the_batch_after_what_fitted",
        "test_a_full_board_stops_the_batch_with_one_error_and_no_row_rejected",
        "test_daily_limit_stops_the_run_at_once_and_the_next_day_finishes_it",
        "test_a_429_is_resent_under_a_fresh_key_journalled_first",
    ),
    "test_dry_run.py": (  # end to end
        "test_a_dry_run_counts_the_rows_delivery_would_refuse_for_their_labels",
        "test_a_dry_run_counts_unknown_size_labels",
    ),
    "test_metrics.py": (  # end to end
        "test_429s_and_complexity_are_recorded_per_batch_and_exported",
        "test_metrics_follow_the_tables",
    ),
    "test_odd_values.py": (  # end to end
        "test_a_non_date_in_a_sqlite_date_column_is_an_invalid_date_row",
        "test_a_huge_size_quantity_is_rejected_and_the_rest_delivered",
    ),
}
"""Where the ``slow`` marker goes. Tests using hypothesis's ``@given`` are marked too, and
PostgreSQL cases outside ``FAST_POSTGRES``."""

TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    whole_modules = not any("::" in arg for arg in config.args)  # else a glob may miss
    for item in items:
        module, entry = slow_entry(item)
        if (
            entry is not None
            or getattr(getattr(item, "function", None), "is_hypothesis_test", False)
            or (is_postgres_case(item) and not module.startswith(FAST_POSTGRES))
        ):
            item.add_marker(pytest.mark.slow)
        if whole_modules and module in SLOW:
            for listed in SLOW[module] or ():
                if "[" in listed:
                    MATCHED.setdefault((module, listed), 0)
            if entry is not None and "[" in entry:
                MATCHED[(module, entry)] += 1


def is_postgres_case(item: pytest.Item) -> bool:
    return "postgres" in getattr(getattr(item, "callspec", None), "id", "")


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
        if fnmatch.fnmatchcase(name, function) and (
            not glob or fnmatch.fnmatchcase(case, glob[:-1])
        ):
            return module, entry
    return module, None


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
def db(db_url: str, templates: Callable[[str, Builder | None], Template]) -> Iterator[Database]:
    """ordersync's tables and the demo ORDERS_UNIFIED (GREYSON PO 4755 and friends) at
    ``db_url``: on SQLite a copy of a template file made once per session (the migrations and
    demo data run once), on PostgreSQL made in the test's schema."""
    if sa.make_url(db_url).get_backend_name() == "sqlite":
        template = templates("sqlite", None)
        assert template.file is not None
        shutil.copyfile(template.file, str(sa.make_url(db_url).database))
        database = Database.connect(db_url)
    else:
        database = demo_database(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding ordersync's tables as the migrations make them, made once."""
    file = tmp_path_factory.mktemp("migrated") / "template.db"
    database = Database.connect(f"sqlite:///{file}")
    upgrade(database.engine)
    database.engine.dispose()
    return file


@pytest.fixture
def migrated(db_url: str, migrated_file: Path) -> Iterator[Database]:
    """ordersync's tables only (no source table) at ``db_url``, made by the migrations: on
    SQLite a copy of ``migrated_file``, on PostgreSQL migrated in the test's schema."""
    if sa.make_url(db_url).get_backend_name() == "sqlite":
        shutil.copyfile(migrated_file, str(sa.make_url(db_url).database))
        database = Database.connect(db_url)
    else:
        database = Database.connect(db_url)
        upgrade(database.engine)
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


# ------------------------------------------------------------------------------ templates
@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, config: SyncConfig
) -> Iterator[Callable[[str, Builder | None], Template]]:
    """``(backend, builder)`` → its template (``None``: the demo database alone), built on
    first use and kept for the session: migrations, demo data and syncs run once, not per
    test."""
    made: dict[tuple[str, Builder | None], Template] = {}

    def get(backend: str, build: Builder | None) -> Template:
        if (backend, build) not in made:
            if backend == "sqlite":
                file = tmp_path_factory.mktemp("template") / "template.db"
                url = f"sqlite:///{file}"
                made[backend, build] = Template(url, *build_template(url, config, build), file=file)
            else:
                schema = new_schema("t_tmpl")
                url = schema_url(schema)
                made[backend, build] = Template(
                    url, *build_template(url, config, build), schema=schema
                )
        return made[backend, build]

    yield get
    for template in made.values():
        if template.schema is not None:
            drop_schema(template.schema)


# ------------------------------------------------------------------------------ synced
@pytest.fixture(params=["sqlite", "postgres"])
def synced(
    request: pytest.FixtureRequest,
    templates: Callable[[str, Builder | None], Template],
    emulator: Emulator,
    tmp_path: Path,
) -> Iterator[Database]:
    """GREYSON PO 4755 after a clean sync: the database (SQLite and PostgreSQL) and the
    ``emulator``'s board. Both are copies of a template synced once per session, so each test
    starts from the same state."""
    with copy_of(templates(backend_of(request), sync_greyson), emulator, tmp_path) as database:
        yield database


@pytest.fixture
def synced_board(
    request: pytest.FixtureRequest,
    synced: Database,
    templates: Callable[[str, Builder | None], Template],
) -> dict[str, Any]:
    """The board that goes with ``synced``, for a test that makes its own emulator (other
    limits, real HTTP, its own webhook transport): ``emulator.store.load_dict(synced_board)``.
    A test can keep ``synced`` to one backend with
    ``@pytest.mark.parametrize("synced", ["sqlite"], indirect=True)``."""
    backend = request.node.callspec.params["synced"]
    return templates(backend, sync_greyson).board()


@pytest.fixture(params=["sqlite", "postgres"])
def history(
    request: pytest.FixtureRequest,
    templates: Callable[[str, Builder | None], Template],
    emulator: Emulator,
    tmp_path: Path,
) -> Iterator[History]:
    """The report, metrics and dashboard tests' database with some history
    (``helpers.dashboard_support.make_history``) and the ``emulator``'s board after it, copied
    per test from a template made once per session."""
    template = templates(backend_of(request), make_history)
    with copy_of(template, emulator, tmp_path) as database:
        yield dataclasses.replace(template.made, db=database)
