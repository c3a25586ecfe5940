"""What the dashboard shows, read from ordersync's tables (read-only, a few queries a page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ordersync.batch_counters import COUNTERS, Tally, total
from ordersync.batches import BatchReport, batches_since, latest_per_customer, running_batches
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.pull.runs import PullRun, last_pull_runs
from ordersync.rejections import count_by_code, rejected_rows
from ordersync.states import EventState, Source

CHART_DAYS = 14
SERIES = tuple(dict.fromkeys(c.chart for c in COUNTERS if c.chart))  # the chart's lines per day
DRIFT_SHOWN = 20


@dataclass
class DayCounts:
    """Order lines per action on one day (batches created that day)."""

    day: date
    created: int = 0
    updated: int = 0
    archived: int = 0
    rejected: int = 0

    def get(self, series: str) -> int:
        return int(getattr(self, series))


@dataclass
class Progress:
    """A running batch: changes done of those planned, items and subitems together."""

    report: BatchReport
    done: int
    planned: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.planned) if self.planned else 100


@dataclass
class Freshness:
    """When the board was last read back (pull or webhook) and what waits to be applied."""

    last_pull: datetime | None = None
    last_webhook: datetime | None = None
    last_applied: datetime | None = None
    pending_events: int = 0
    quarantined_events: int = 0


@dataclass
class Overview:
    """Everything on the dashboard's front page."""

    now: datetime
    days: list[DayCounts]
    latest: list[BatchReport]
    running: list[Progress]
    locks: list[sa.Row]
    freshness: Freshness
    drift: list[sa.Row]
    rejections_open: int
    rejections_by_code: list[tuple[str, int, str]] = field(default_factory=list)
    pulls: list[PullRun] = field(default_factory=list)


def overview(db: Database, config: SyncConfig, now: datetime, days: int = CHART_DAYS) -> Overview:
    """Read the front page: chart, latest batch per customer, running batches, lock, freshness."""
    t = db.tables
    chart = _days(db, now, days)
    latest = latest_per_customer(db)
    running = [_progress(report) for report in running_batches(db)]
    with db.engine.connect() as connection:
        locks = list(connection.execute(sa.select(t.locks).order_by(t.locks.c.board_id)))
        freshness = _freshness(db, connection)
        drift = list(
            connection.execute(
                sa.select(t.value_changes)
                .where(t.value_changes.c.source == str(Source.DRIFT))
                .order_by(t.value_changes.c.recorded_at.desc(), t.value_changes.c.change_id.desc())
                .limit(DRIFT_SHOWN)
            )
        )
    open_rows = rejected_rows(db, config, open_only=True)
    pulls = last_pull_runs(db)
    if pulls:
        freshness.last_pull = max(p.finished_at for p in pulls)
    return Overview(
        now,
        chart,
        latest,
        running,
        locks,
        freshness,
        drift,
        len(open_rows),
        count_by_code(open_rows),
        pulls,
    )


def _days(db: Database, now: datetime, days: int) -> list[DayCounts]:
    first = now.date() - timedelta(days=days - 1)
    counts = {first + timedelta(days=n): DayCounts(first + timedelta(days=n)) for n in range(days)}
    for batch in batches_since(db, datetime.combine(first, datetime.min.time())):
        day = counts.get(batch.created_at.date())
        if day is None:
            continue  # a clock ahead of ours: not on the chart
        for counter in COUNTERS:
            if counter.chart:
                setattr(day, counter.chart, day.get(counter.chart) + getattr(batch, counter.column))
    return list(counts.values())


def _progress(report: BatchReport) -> Progress:
    """Rows handled (failed ones too) of those planned, items and subitems together."""
    done = total(report, Tally.DELIVERED)
    planned = total(report, Tally.PLANNED)
    return Progress(report, min(done, planned), planned)


def _freshness(db: Database, connection: sa.Connection) -> Freshness:
    t = db.tables
    events = t.webhook_events
    last_pull = connection.execute(sa.select(sa.func.max(t.items.c.pulled_at))).scalar()
    webhook = connection.execute(
        sa.select(
            sa.func.max(events.c.received_at),
            sa.func.max(events.c.applied_at),
            sa.func.sum(sa.case((events.c.state == str(EventState.PENDING), 1), else_=0)),
            sa.func.sum(sa.case((events.c.state == str(EventState.QUARANTINED), 1), else_=0)),
        )
    ).one()
    return Freshness(last_pull, webhook[0], webhook[1], int(webhook[2] or 0), int(webhook[3] or 0))


def stage_times(report: BatchReport) -> list[str]:
    """Each stage's stamp as time since the batch was created (``+1m 05s``; ``–`` not yet)."""
    stamps = (
        report.staged_at,
        report.items_completed_at,
        report.subitems_completed_at,
        report.completed_at,
    )
    return [_after(report.created_at, stamp) for stamp in stamps]


def _after(start: datetime, stamp: datetime | None) -> str:
    if stamp is None:
        return "–"
    seconds = max(0, round((stamp - start).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"+{hours}h {minutes:02d}m"
    return f"+{minutes}m {seconds:02d}s" if minutes else f"+{seconds}s"


def column_titles(config: SyncConfig) -> dict[str, str]:
    """Board column id → the title a planner knows (drift is logged by column id)."""
    titles = {c.column_id: c.title or c.source for c in config.items.columns}
    titles[config.subitems.qty_column_id] = "quantity"
    titles[config.subitems.size_column_id] = "size"
    return titles
