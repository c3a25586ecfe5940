"""The command line through its real entry point, against the emulator over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, RunningServer

ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with Emulator(seed=True).serve(host="127.0.0.1", port=0) as running:
        yield running


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ENTRY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def environment(server: RunningServer, database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    env.update(
        ORDERSYNC_DATABASE_URL=database_url,
        MONDAY_API_URL=server.url,
        MONDAY_API_TOKEN="cli-test-token",
        COLUMNS="120",
    )
    env["HOME"] = str(tmp_path)
    return env


def emulator_get(server: RunningServer, path: str, **params: object) -> object:
    base = server.url.removesuffix("/v2")
    return httpx.get(f"{base}{path}", params=params, timeout=10).json()


def test_phase_one_from_the_command_line(
    server: RunningServer, db_url: str, tmp_path: Path
) -> None:
    env = environment(server, db_url, tmp_path)
    for args in (["init-db"], ["demo-data"]):
        done = run(env, *args)
        assert done.returncode == 0, done.stderr

    dry = run(env, "sync", "--customer", "GREYSON", "--po-number", "4755", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "items: +69 ~0 -0; subitems: +264 ~0 -0" in dry.stdout
    assert "+ GRY-" in dry.stdout
    assert emulator_get(server, "/emulator/stats")["mutations"] == {}  # type: ignore[index]

    first = run(env, "sync", "--customer", "GREYSON", "--po-number", "4755", "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["status"] == "BATCH_COMPLETED"
    assert (result["items_created"], result["subitems_created"], result["rows_rejected"]) == (
        69,
        264,
        0,
    )
    assert result["requests"] <= 20
    items = emulator_get(server, "/emulator/items", board_id=CMS_BOARD_ID)
    subitems = emulator_get(server, "/emulator/items", board_id=CMS_SUBITEMS_BOARD_ID)
    assert len(items) == 69 and len(subitems) == 264  # type: ignore[arg-type]

    httpx.post(server.url.removesuffix("/v2") + "/emulator/reset-stats", timeout=10)
    again = run(env, "sync", "--customer", "GREYSON CLOTHIERS", "--po-number", "4755", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "NO_CHANGES"
    assert emulator_get(server, "/emulator/stats")["mutations"] == {}  # type: ignore[index]

    status = run(env, "status", result["batch_id"], "--json")
    assert status.returncode == 0, status.stderr
    batch = json.loads(status.stdout)
    assert batch["status"] == "BATCH_COMPLETED" and batch["subitems_created"] == 264
    assert "cli-test-token" not in first.stdout + first.stderr + status.stdout


def test_rejected_rows_exit_3(server: RunningServer, sqlite_url: str, tmp_path: Path) -> None:
    env = environment(server, sqlite_url, tmp_path)
    assert run(env, "init-db").returncode == 0
    assert run(env, "demo-data").returncode == 0
    done = run(env, "sync", "--customer", "RHONE", "--po-number", "9001", "--json")
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["status"] == "COMPLETED_WITH_ERRORS"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            {"ORDERSYNC_CONFIG": "/nonexistent/ordersync.toml"},
            ["sync", "--customer", "X"],
            "cannot read configuration",
        ),
        ({}, ["sync", "--customer", "GREYSON", "--mode", "production"], "boards.production"),
        (
            {"MONDAY_API_URL": "https://api.monday.com/v2", "MONDAY_API_TOKEN": ""},
            ["sync", "--customer", "GREYSON"],
            "MONDAY_API_TOKEN",
        ),
        ({}, ["sync", "--customer", "GREYSON"], "ordersync demo-data"),
        ({}, ["sync"], "--customer"),
        ({"ORDERSYNC_DATABASE_URL": "nonsense://"}, ["init-db"], "ORDERSYNC_DATABASE_URL"),
        # arguments with brackets appear in messages as typed (consoles read no markup)
        ({}, ["status", "[/nope]"], "no batch [/nope]"),
        ({}, ["status", "[bold]x"], "no batch [bold]x"),
        ({}, ["sync", "--customer", "GREYSON", "--mode", "[/x]"], "'[/x]'"),
        ({}, ["sync", "--customer", "[bold]GREYSON", "--mode", "[red]"], "'[red]'"),
        (
            {"ORDERSYNC_CONFIG": "/nonexistent/[/x]/[bold]ordersync.toml"},
            ["status"],
            "/nonexistent/[/x]/[bold]ordersync.toml",
        ),
    ],
)
def test_usage_and_configuration_errors_exit_2(
    server: RunningServer,
    sqlite_url: str,
    tmp_path: Path,
    setup: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    assert run(env, "init-db").returncode == 0
    env.update(setup)
    done = run(env, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_help_ends_with_an_example() -> None:
    done = subprocess.run([*ENTRY, "sync", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "ordersync sync --customer GREYSON --po-number 4755" in done.stdout


# --- data is printed as it is (never read as Rich markup) --------------------------------------
BRACKETS = "Tee [/x] [bold]y"


@pytest.fixture
def served() -> Iterator[tuple[Emulator, RunningServer]]:
    emulator = Emulator(seed=True)
    with emulator.serve(host="127.0.0.1", port=0) as running:
        yield emulator, running


def _ready(env: dict[str, str]) -> None:
    for args in (["init-db"], ["demo-data"]):
        done = run(env, *args)
        assert done.returncode == 0, done.stderr


def _source(url: str, statement: str, **params: object) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)
    engine.dispose()


def test_names_and_values_with_brackets_are_printed_as_they_are(
    served: tuple[Emulator, RunningServer], sqlite_url: str, tmp_path: Path
) -> None:
    emulator, server = served
    env = environment(server, sqlite_url, tmp_path)
    _ready(env)
    _source(
        sqlite_url,
        'UPDATE "ORDERS_UNIFIED" SET "CUSTOMER STYLE" = :style WHERE "PO NUMBER" = \'4755\'',
        style=BRACKETS,
    )
    scope = ("--customer", "GREYSON", "--po-number", "4755")
    dry = run(env, "sync", *scope, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"{BRACKETS}" in dry.stdout and "Traceback" not in dry.stderr

    first = run(env, "sync", *scope)
    assert first.returncode == 0, first.stderr
    assert "BATCH_COMPLETED" in first.stdout

    item = next(i for i in emulator.items(CMS_BOARD_ID) if BRACKETS in i["name"])
    emulator.act(item["id"], "text_mkrh94rx", "oops [/b]")  # a person types it on monday
    pulled = run(env, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert "oops [/b]" in pulled.stdout and "Traceback" not in pulled.stderr

    listed = run(env, "status")
    assert listed.returncode == 0, listed.stderr


# --- messages: say what is wrong, and what to run again ------------------------------------------
def _config(tmp_path: Path, board_id: int = CMS_BOARD_ID, extra: str = "") -> str:
    text = (resources.files("ordersync") / "builtin" / "cms.toml").read_text("utf-8")
    text = text.replace(f"items_board_id = {CMS_BOARD_ID}", f"items_board_id = {board_id}")
    path = tmp_path / "ordersync.toml"
    path.write_text(text + extra, encoding="utf-8")
    return str(path)


def _no_traceback(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert "batch is kept" not in done.stderr
    return done.stderr


def test_a_missing_board_is_a_configuration_error_in_every_command(
    server: RunningServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    _ready(env)
    env["ORDERSYNC_CONFIG"] = _config(tmp_path, board_id=999)
    scope = ("--customer", "GREYSON", "--po-number", "4755")
    results = [
        run(env, "sync", *scope),
        run(env, "sync", *scope, "--dry-run"),
        run(env, "pull"),
    ]
    messages = set()
    for done in results:
        assert done.returncode == 2, (done.stdout, done.stderr)
        message = _no_traceback(done)
        assert "board 999 is not on monday" in message
        messages.add(message)
    assert len(messages) == 1  # the dry run says exactly what the run says


def test_a_wrong_token_says_so(sqlite_url: str, tmp_path: Path) -> None:
    with Emulator(seed=True, token="the-right-token").serve(host="127.0.0.1", port=0) as server:
        env = environment(server, sqlite_url, tmp_path)
        _ready(env)
        for args in (["sync", "--customer", "GREYSON", "--po-number", "4755"], ["pull"]):
            done = run(env, *args)
            assert done.returncode == 2, (done.stdout, done.stderr)
            message = _no_traceback(done)
            assert "monday refused the API token" in message and "MONDAY_API_TOKEN" in message
            assert "cli-test-token" not in done.stdout + done.stderr


def test_an_unreachable_monday_says_so_and_names_the_command(
    server: RunningServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    _ready(env)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env["MONDAY_API_URL"] = f"http://127.0.0.1:{port}/v2"
    env["ORDERSYNC_CONFIG"] = _config(tmp_path, extra="\n[delivery]\nmax_retries = 0\n")
    for command, args in (
        ("sync", ["sync", "--customer", "GREYSON", "--po-number", "4755"]),
        ("pull", ["pull"]),
    ):
        done = run(env, *args)
        assert done.returncode == 1, (done.stdout, done.stderr)
        message = _no_traceback(done)
        assert "monday could not be reached" in message and "MONDAY_API_URL" in message
        assert f"run the same `ordersync {command}` again" in message
        if command == "pull":
            assert "ordersync sync" not in message


def test_a_database_without_ordersync_tables_says_run_init_db(
    server: RunningServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    assert run(env, "demo-data").returncode == 0  # the source table, not ordersync's tables
    for args in (["status"], ["sync", "--customer", "GREYSON"], ["pull"]):
        done = run(env, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "run `ordersync init-db`" in _no_traceback(done)


@pytest.mark.parametrize("limit", ["99999999999999999999999", "0", "-1", "x"])
def test_status_limit_out_of_range_is_a_usage_error(
    server: RunningServer, sqlite_url: str, tmp_path: Path, limit: str
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    assert run(env, "init-db").returncode == 0
    done = run(env, "status", "--limit", limit)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "--limit" in _no_traceback(done)


@pytest.mark.parametrize("state", ["{not json", '{"version": 999}', "[]", '{"version": 1}'])
def test_a_corrupt_emulator_state_file_is_a_clear_error(tmp_path: Path, state: str) -> None:
    path = tmp_path / "state [x].json"
    path.write_text(state, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    done = run(env, "emulator", "--port", "0", "--state", str(path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = _no_traceback(done)
    assert str(path) in message and "cannot be read" in message
    assert path.read_text(encoding="utf-8") == state  # left for the user to look at


# --- demo-data never touches a table it did not write ----------------------------------------
def _count(url: str, table: str = "ORDERS_UNIFIED") -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
    engine.dispose()
    return int(count)


def test_demo_data_never_replaces_by_default_and_says_what_it_touches(
    server: RunningServer, db_url: str, tmp_path: Path
) -> None:
    env = environment(server, db_url, tmp_path)
    first = run(env, "demo-data")
    assert first.returncode == 0, first.stderr
    assert "ORDERS_UNIFIED" in first.stdout and "creating" in first.stdout
    rows = _count(db_url)
    again = run(env, "demo-data")
    assert again.returncode == 2 and "--replace" in _no_traceback(again)
    assert _count(db_url) == rows
    replaced = run(env, "demo-data", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert _count(db_url) == rows


@pytest.mark.parametrize(
    "user_table",
    [
        'CREATE TABLE "ORDERS_UNIFIED" ("AAG ORDER NUMBER" VARCHAR(20), record_uuid VARCHAR(36))',
        'CREATE TABLE "ORDERS_UNIFIED" ("AAG ORDER NUMBER" VARCHAR(20))',
    ],
)
def test_demo_data_never_touches_a_users_table_even_with_replace(
    server: RunningServer, db_url: str, tmp_path: Path, user_table: str
) -> None:
    """A project's config names its real orders table: demo-data leaves it as it is."""
    _source(db_url, user_table)
    _source(db_url, 'INSERT INTO "ORDERS_UNIFIED" ("AAG ORDER NUMBER") VALUES (\'REAL-1\')')
    env = environment(server, db_url, tmp_path)
    for args in (["demo-data"], ["demo-data", "--replace"]):
        done = run(env, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "ORDERS_UNIFIED" in _no_traceback(done)
        assert _count(db_url) == 1


def test_a_mass_archive_is_refused_unless_allowed(
    server: RunningServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = environment(server, sqlite_url, tmp_path)
    assert run(env, "init-db").returncode == 0
    assert run(env, "demo-data").returncode == 0
    scope = ("sync", "--customer", "GREYSON", "--po-number", "4755")
    assert run(env, *scope).returncode == 0
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:  # an ETL reload caught half way: the PO's rows gone
        connection.execute(sa.text('DELETE FROM "ORDERS_UNIFIED" WHERE "PO NUMBER" = \'4755\''))
    engine.dispose()
    httpx.post(server.url.removesuffix("/v2") + "/emulator/reset-stats", timeout=10)
    for args in ((*scope, "--dry-run"), scope):
        done = run(env, *args)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "refusing to archive 69 of the 69 items" in done.stderr
        assert "--allow-mass-archive" in done.stderr and "Traceback" not in done.stderr
    assert emulator_get(server, "/emulator/stats")["mutations"] == {}  # type: ignore[index]
    forced = run(env, *scope, "--allow-mass-archive", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["items_archived"] == 69
