"""``/metrics``: the collector reads the tables at scrape time (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers.board_support import GREYSON
from helpers.dashboard_support import History, error_rows
from ordersync.batches import load_report
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.metrics import metrics_text
from ordersync.monday import MondayClient
from ordersync.push.board import BoardContext
from ordersync.states import EventState
from ordersync.sync import run_sync


def scrape(db: Database, now: object) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """metric sample name → {sorted labels: value}."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    text = metrics_text(db, lambda: now).decode()  # type: ignore[arg-type,return-value]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_follow_the_tables(history: History) -> None:
    db = history.db
    greyson, rhone = history.greyson.report, history.rhone.report
    assert greyson is not None and rhone is not None
    last = max(greyson.completed_at, rhone.completed_at)
    metrics = scrape(db, last + timedelta(seconds=90))
    board = str(CMS_BOARD_ID)

    assert metrics["ordersync_batches"] == {
        (("board_id", board), ("status", "BATCH_COMPLETED")): 1,
        (("board_id", board), ("status", "COMPLETED_WITH_ERRORS")): 1,
    }
    rows = metrics["ordersync_rows_total"]
    assert rows[(("action", "created"), ("kind", "item"))] == (
        greyson.items_created + rhone.items_created
    )
    assert rows[(("action", "created"), ("kind", "subitem"))] == (
        greyson.subitems_created + rhone.subitems_created
    )
    assert metrics["ordersync_requests_total"][()] == greyson.requests + rhone.requests
    assert metrics["ordersync_throttled_total"][()] == 0  # no 429 in this history
    spent = metrics["ordersync_complexity_spent_total"][()]
    assert spent == greyson.complexity_spent + rhone.complexity_spent > 0
    assert metrics["ordersync_rows_rejected_at_planning_total"][()] == rhone.rows_rejected
    codes = Counter(r.error_code for r in error_rows(db))
    assert metrics["ordersync_rejections"] == {
        (("code", code), ("state", "open")): n for code, n in codes.items()
    }
    fresh = metrics["ordersync_seconds_since_last_completed_sync"]
    assert fresh[(("board_id", board), ("customer", "RHONE"))] == pytest.approx(
        90 + (last - rhone.completed_at).total_seconds()
    )
    assert fresh[(("board_id", board), ("customer", "GREYSON"))] == pytest.approx(
        90 + (last - greyson.completed_at).total_seconds()
    )
    assert metrics["ordersync_webhook_events_pending"][()] == 1

    # read at scrape time: a resolved rejection and an applied event show on the next scrape
    errors, events = db.tables.item_errors, db.tables.webhook_events
    with db.engine.begin() as connection:
        connection.execute(
            errors.update().where(errors.c.error_code == "MISSING_KEY").values(resolved=True)
        )
        connection.execute(events.update().values(state=EventState.QUARANTINED, error="why"))
    again = scrape(db, last)
    assert again["ordersync_rejections"][(("code", "MISSING_KEY"), ("state", "resolved"))] == 1
    assert (("code", "MISSING_KEY"), ("state", "open")) not in again["ordersync_rejections"]
    assert again["ordersync_webhook_events_pending"][()] == 0
    assert again["ordersync_webhook_events_quarantined"][()] == 1


def test_an_empty_database_scrapes(db: Database) -> None:
    metrics = scrape(db, None)
    assert "ordersync_batches" not in metrics and metrics["ordersync_requests_total"][()] == 0
    assert metrics["ordersync_throttled_total"][()] == 0
    assert metrics["ordersync_complexity_spent_total"][()] == 0
    assert metrics["ordersync_webhook_events_pending"][()] == 0


def test_429s_and_complexity_are_recorded_per_batch_and_exported(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """deliver records what the client counted during the batch; /metrics sums the batches."""
    board = BoardContext.load(client, config, CMS_BOARD_ID)  # what a sync reads before deliver
    reads = client.stats.complexity_spent
    assert reads > 0 and board.board_id == CMS_BOARD_ID
    emulator.inject(Fault("status", status=429, match="create_item", retry_in_seconds=1))
    before = client.stats.complexity_spent
    outcome = run_sync(db, config, client, GREYSON)
    report = outcome.report
    assert report is not None and outcome.exit_code == 0
    assert report.throttled == emulator.stats.faults["status"] == 1  # the injected 429
    assert client.stats.complexity_spent == emulator.stats.complexity_used  # every answer's cost
    spent_in_run = client.stats.complexity_spent - before
    assert report.complexity_spent == spent_in_run - reads > 0  # the board's reads not included
    as_json = load_report(db, report.batch_id)
    assert as_json is not None
    assert as_json.as_dict()["throttled"] == 1  # `status --json` and `sync --json` show them
    assert as_json.as_dict()["complexity_spent"] == report.complexity_spent

    metrics = scrape(db, report.completed_at)
    assert metrics["ordersync_throttled_total"][()] == 1
    assert metrics["ordersync_complexity_spent_total"][()] == report.complexity_spent
    assert metrics["ordersync_requests_total"][()] == report.requests
    assert metrics["ordersync_retries_total"][()] == report.retries >= 1
