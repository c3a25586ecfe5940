"""``ordersync report``: per customer, from the batch records, ERR tables and drift log
(SQLite and PostgreSQL), in Markdown, HTML and JSON; ``--fail-over`` for a scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpers.dashboard_support import History, error_rows
from ordersync.config import SyncConfig
from ordersync.db import utcnow
from ordersync.errors import ConfigError
from ordersync.report import (
    build_report,
    exceeds,
    parse_since,
    render_html,
    render_markdown,
)

ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]
NOW = datetime(2026, 3, 10, 12, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        (" 30m ", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-03-01", datetime(2026, 3, 1)),
        ("2026-03-01 06:30", datetime(2026, 3, 1, 6, 30)),
    ],
)
def test_since_takes_a_span_or_a_date(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["7", "seven days", "7y", "-3d"])
def test_a_bad_since_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="--since"):
        parse_since(text, NOW)


def test_the_report_per_customer(history: History, config: SyncConfig) -> None:
    greyson, rhone = history.greyson.report, history.rhone.report
    assert greyson is not None and rhone is not None
    now = utcnow()
    report = build_report(history.db, config, now - timedelta(days=7), now)
    by_name = {c.customer: c for c in report.customers}
    assert set(by_name) == {"GREYSON", "RHONE"}

    g, r = by_name["GREYSON"], by_name["RHONE"]
    assert (g.runs, dict(g.statuses)) == (1, {"BATCH_COMPLETED": 1})
    assert g.items["created"] == greyson.items_created
    assert g.subitems["created"] == greyson.subitems_created
    assert g.durations == [(greyson.completed_at - greyson.created_at).total_seconds()]
    assert g.drift == 1 and r.drift == 0  # the hand edit was on a GREYSON line
    assert g.lines_rejected == 0 and g.rejections == {}

    assert dict(r.statuses) == {"COMPLETED_WITH_ERRORS": 1}
    codes: dict[str, int] = {}
    for row in error_rows(history.db):
        codes[row.error_code] = codes.get(row.error_code, 0) + 1
    assert {code: c["open"] for code, c in r.rejections.items()} == codes
    assert all(c["resolved"] == 0 for c in r.rejections.values())
    assert r.lines_rejected == rhone.rows_rejected + rhone.items_failed
    planned = rhone.planned_items + rhone.planned_item_updates + rhone.planned_item_archives
    assert r.lines_handled == planned + rhone.rows_rejected
    assert report.total.lines_rejected == r.lines_rejected
    assert report.total.rejected_share == pytest.approx(
        100 * r.lines_rejected / (r.lines_handled + g.lines_handled)
    )

    only = build_report(history.db, config, now - timedelta(days=7), now, customer="rhone")
    assert [c.customer for c in only.customers] == ["RHONE"]
    later = build_report(history.db, config, now + timedelta(minutes=1), now)
    assert later.customers == []  # nothing since then


def test_resolved_rejections_are_counted_apart(history: History, config: SyncConfig) -> None:
    errors = history.db.tables.item_errors
    with history.db.engine.begin() as connection:
        connection.execute(
            errors.update().where(errors.c.error_code == "MISSING_KEY").values(resolved=True)
        )
    now = utcnow()
    rhone = build_report(history.db, config, now - timedelta(days=1), now, customer="RHONE")
    assert dict(rhone.customers[0].rejections["MISSING_KEY"]) == {"resolved": 1}


def test_markdown_html_and_the_threshold(history: History, config: SyncConfig) -> None:
    now = utcnow()
    report = build_report(history.db, config, now - timedelta(days=7), now)
    share = report.total.rejected_share
    assert share > 0
    markdown = render_markdown(report)
    assert "## GREYSON" in markdown and "## RHONE" in markdown and "## all" in markdown
    assert "| DUPLICATE_KEY | 2 | 0 |" in markdown
    assert f"({share:.1f}%)" in markdown
    html = render_html(report)
    assert html.startswith("<!doctype html>") and "<style>" in html and "stylesheet" not in html
    assert "<h3>RHONE</h3>" in html and "DUPLICATE_KEY" in html
    assert exceeds(report, share - 0.1) and not exceeds(report, share) and not exceeds(report, None)


def test_report_from_the_command_line(history: History, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    db_url = history.db.engine.url.render_as_string(hide_password=False)
    env.update(ORDERSYNC_DATABASE_URL=db_url, HOME=str(tmp_path))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ENTRY, "report", *args], env=env, capture_output=True, text=True, timeout=120
        )

    ok = run("--since", "1d", "--format", "json", "--fail-over", "99")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert [c["customer"] for c in data["customers"]] == ["GREYSON", "RHONE"]
    share = data["total"]["rejected_share_pct"]
    failing = run("--since", "1d", "--fail-over", str(share / 2))
    assert failing.returncode == 1 and "passed --fail-over" in failing.stderr
    assert "## RHONE" in failing.stdout
    assert run("--since", "soon").returncode == 2
    html = run("--format", "html", "--customer", "GREYSON")
    assert html.returncode == 0 and "<h3>GREYSON</h3>" in html.stdout and "RHONE" not in html.stdout
