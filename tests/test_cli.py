"""The command line through its real entry point, against the emulator over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
