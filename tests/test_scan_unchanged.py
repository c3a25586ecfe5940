"""Re-planning at scale on PostgreSQL (issue 12): the unchanged rows are joined to the mirror
under their own planner settings, which the rest of the plan does not keep, and a large
delivery leaves the mirror vacuumed and analysed for the next plan, a large plan the scan
table."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.board_support import GREYSON
from helpers.support import demo_database
from ordersync.config import SyncConfig
from ordersync.db import Database, engine
from ordersync.monday import MondayClient
from ordersync.push import deliver, plan
from ordersync.push.plan import UNCHANGED_TABLE, plan_batch
from ordersync.states import BatchStatus, SyncStatus
from ordersync.sync import run_sync

SETTINGS = ("enable_nestloop", "parallel_setup_cost", "parallel_tuple_cost")


@pytest.fixture
def settings_seen(synced: Database) -> Iterator[list[tuple[str, tuple[str, ...]]]]:
    """(statement's first words, ``SETTINGS`` when it ran) of every statement sent (but those
    reading or changing settings)."""
    seen: list[tuple[str, tuple[str, ...]]] = []
    query = "SELECT " + ", ".join(f"current_setting('{name}')" for name in SETTINGS)

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "current_setting(" not in statement and "set_config(" not in statement:
            driver = conn.connection.driver_connection  # not through SQLAlchemy: no event
            seen.append((" ".join(statement.split()[:4]), tuple(driver.execute(query).fetchone())))

    sa.event.listen(synced.engine, "before_cursor_execute", before)
    yield seen
    sa.event.remove(synced.engine, "before_cursor_execute", before)


@pytest.mark.parametrize("synced", ["postgres"], indirect=True)
def test_only_the_unchanged_rows_are_found_by_a_parallel_hash_join(
    synced: Database, config: SyncConfig, settings_seen: list[tuple[str, tuple[str, ...]]]
) -> None:
    """``scan_unchanged`` finds them (into a temporary table: PostgreSQL runs no INSERT …
    SELECT in parallel) with nested loops off and parallel plans free; every other statement
    of the plan, before and after it, runs with the server's settings."""
    result = plan_batch(synced, config, GREYSON, dry_run=True)
    assert result.unchanged > 0 and result.changes == 0
    finding = f"CREATE TEMPORARY TABLE {UNCHANGED_TABLE}"
    assert [s for s in settings_seen if s[0] == finding] == [(finding, ("off", "0", "0"))]
    assert {s for _, s in settings_seen if _ != finding} == {("on", "1000", "0.1")}


def vacuums(db: Database, table: sa.Table | None = None) -> int:
    """How many times ``table`` (the mirror's items table) was vacuumed (by hand, not
    autovacuum)."""
    query = sa.text(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = quote_ident(:table)::regclass"
    )
    name = (db.tables.items if table is None else table).name
    with db.engine.connect() as connection:
        return int(connection.execute(query, {"table": name}).scalar_one())


@pytest.mark.parametrize("rows", [1, 1_000_000])
def test_a_large_delivery_vacuums_and_analyses_the_mirror(
    pg_url: str,
    config: SyncConfig,
    client: MondayClient,
    monkeypatch: pytest.MonkeyPatch,
    rows: int,
) -> None:
    """A batch of at least ``MIRROR_REFRESH_ROWS`` mirror rows ends with VACUUM (ANALYZE) of
    the mirror tables (a sync of PO 4755 writes a few dozen: the threshold is lowered)."""
    monkeypatch.setattr(deliver, "MIRROR_REFRESH_ROWS", rows)
    db = demo_database(pg_url)
    before = vacuums(db)
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert vacuums(db) == before + (1 if rows == 1 else 0)
    db.engine.dispose()


def test_a_failed_refresh_leaves_the_sync_done(
    pg_url: str,
    config: SyncConfig,
    client: MondayClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The refresh comes after the batch is complete: when VACUUM fails (here: a table that is
    not there), the sync still succeeds, and the failure is logged."""
    monkeypatch.setattr(deliver, "MIRROR_REFRESH_ROWS", 1)
    monkeypatch.setattr(engine, "VACUUM", {"postgresql": "VACUUM (ANALYZE) {}, no_such"})
    db = demo_database(pg_url)
    with caplog.at_level(logging.WARNING, logger="ordersync.db.engine"):
        first = run_sync(db, config, client, GREYSON)
    assert first.exit_code == 0 and first.status == BatchStatus.BATCH_COMPLETED
    assert 'vacuuming "' in caplog.text and 'relation "no_such" does not exist' in caplog.text
    assert "the batch is complete" in caplog.text
    again = run_sync(db, config, client, GREYSON)
    assert again.status == SyncStatus.NO_CHANGES and again.plan.changes == 0
    db.engine.dispose()


@pytest.mark.parametrize("rows", [1, 1_000_000])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_large_plan_vacuums_the_scan_table(
    pg_url: str, config: SyncConfig, monkeypatch: pytest.MonkeyPatch, rows: int, dry_run: bool
) -> None:
    """A plan that scanned at least ``SCAN_VACUUM_ROWS`` lines (PO 4755 has 69: the threshold
    is lowered) vacuums the scan table as it ends, kept or rolled back (its rows are dead
    either way), so the next plan does not read past them. (How many dead rows the VACUUM
    could remove depends on the oldest transaction open on the server: not asserted.)"""
    monkeypatch.setattr(plan, "SCAN_VACUUM_ROWS", rows)
    db = demo_database(pg_url)
    before = vacuums(db, db.tables.scan)
    result = plan_batch(db, config, GREYSON, dry_run=dry_run)
    assert result.items == 69 and (result.batch_id is None) == dry_run
    assert vacuums(db, db.tables.scan) == before + (1 if rows == 1 else 0)
    db.engine.dispose()
