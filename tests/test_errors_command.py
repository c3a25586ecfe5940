"""Rejected rows from the command line: ``ordersync errors`` (any unique prefix of a batch id)
and the first rejected rows ``sync`` prints after its summary, dry runs too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.dashboard_support import error_rows
from ordersync.batches import resolve_batch_id
from ordersync.db import Database, utcnow
from ordersync.demo_data import BAD_ROWS_PO
from ordersync.emulator import CMS_BOARD_ID, Emulator, RunningServer
from ordersync.errors import ConfigError
from ordersync.states import BatchStatus

ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]
RHONE = ("sync", "--customer", "RHONE", "--po-number", BAD_ROWS_PO)


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with Emulator(seed=True).serve(host="127.0.0.1", port=0) as running:
        yield running


def runner(server: RunningServer, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    env.update(
        ORDERSYNC_DATABASE_URL=db_url,
        MONDAY_API_URL=server.url,
        MONDAY_API_TOKEN="cli-test-token",
        COLUMNS="200",
        HOME=str(tmp_path),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ENTRY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return run


def test_sync_and_errors_show_the_rejected_rows(
    server: RunningServer, db: Database, db_url: str, tmp_path: Path
) -> None:
    run = runner(server, db_url, tmp_path)
    dry = run(*RHONE, "--dry-run")
    assert dry.returncode == 3, dry.stderr
    assert "rejected rows" in dry.stdout
    assert "RHO-90002" in dry.stdout and "INVALID_NUMBER" in dry.stdout
    assert "'TRUE' is a yes/no word, not a number" in dry.stdout
    assert error_rows(db) == []  # a dry run writes nothing

    real = run(*RHONE)
    assert real.returncode == 3, real.stderr
    recorded = error_rows(db)
    summary_end = real.stdout.index("rejected rows")
    assert "status" in real.stdout[:summary_end]  # after the summary
    shown = real.stdout[summary_end:]
    assert "RHO-90006" in shown and "NEGATIVE_QUANTITY" in shown and "(no key)" in shown
    assert len(recorded) == 5

    listing = run("errors")
    assert listing.returncode == 0, listing.stderr
    batch = recorded[0].batch_id
    assert f"batch {batch}: 5 rejected rows" in listing.stdout
    for row in recorded:
        assert row.error_code in listing.stdout and (row.order_key or "(no key)") in listing.stdout

    by_prefix = run("errors", batch[:8], "--code", "DUPLICATE_KEY", "--json")
    assert by_prefix.returncode == 0, by_prefix.stderr
    data = json.loads(by_prefix.stdout)
    assert data["batch_id"] == batch
    assert [(r["order_key"], r["code"]) for r in data["rows"]] == [
        ("RHO-90004", "DUPLICATE_KEY")
    ] * 2
    assert all(r["message"] and r["customer"] == "RHONE" for r in data["rows"])

    unknown = run("errors", "zzzzzzzz")
    assert unknown.returncode == 2 and "no batch zzzzzzzz" in unknown.stderr


def test_a_clean_sync_prints_no_rejected_rows(
    server: RunningServer, db: Database, db_url: str, tmp_path: Path
) -> None:
    run = runner(server, db_url, tmp_path)
    done = run("sync", "--customer", "GREYSON", "--po-number", "4755")
    assert done.returncode == 0, done.stderr
    assert "rejected rows" not in done.stdout.replace("rows rejected", "")
    nothing = run("errors", "--json")
    assert json.loads(nothing.stdout) == {"batch_id": None, "rows": []}


def test_a_batch_id_prefix_must_be_unique(db: Database) -> None:
    now = utcnow()
    ids = ["abc10000-0000-0000-0000-000000000000", "abc20000-0000-0000-0000-000000000000"]
    with db.engine.begin() as connection:
        for batch_id in ids:
            connection.execute(
                db.tables.batches.insert().values(
                    batch_id=batch_id,
                    board_id=CMS_BOARD_ID,
                    mode="test",
                    status=BatchStatus.BATCH_COMPLETED,
                    created_at=now,
                )
            )
    assert resolve_batch_id(db, "abc1") == ids[0]
    assert resolve_batch_id(db, ids[1]) == ids[1]
    with pytest.raises(ConfigError, match="ambiguous"):
        resolve_batch_id(db, "abc")
    for pattern in ("abc_", "%", str(uuid.uuid4())):
        with pytest.raises(ConfigError, match="no batch"):
            resolve_batch_id(db, pattern)  # LIKE wildcards are literal characters here


def test_messages_are_printed_as_they_are(db: Database, db_url: str, tmp_path: Path) -> None:
    """A message with brackets (rich's markup syntax) is data: printed as it is, no error."""
    now, batch_id = utcnow(), str(uuid.uuid4())
    message = "label [bold]NEW[/] is not on the board [red]"
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.batches.insert().values(
                batch_id=batch_id,
                board_id=CMS_BOARD_ID,
                mode="test",
                status=BatchStatus.COMPLETED_WITH_ERRORS,
                created_at=now,
            )
        )
        connection.execute(
            db.tables.item_errors.insert().values(
                batch_id=batch_id,
                order_key="K-[1]",
                stage="DELIVER",
                error_code="UNKNOWN_LABEL",
                message=message,
                created_at=now,
            )
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    env.update(ORDERSYNC_DATABASE_URL=db_url, HOME=str(tmp_path), COLUMNS="200")
    done = subprocess.run(
        [*ENTRY, "errors", batch_id[:6]], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert message in done.stdout and "K-[1]" in done.stdout
