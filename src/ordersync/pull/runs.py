"""The record of each pull (``MON_PullRuns``): its counts and its report, for the dashboard.

A pull's report (drift, items made by hand on monday, items gone from monday) is otherwise
printed once and lost; the record keeps the last ones readable.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ordersync.db import Database, utcnow

if TYPE_CHECKING:
    from ordersync.pull.pull import PullReport


@dataclass(frozen=True)
class PullRun:
    """One recorded pull."""

    board_id: int
    started_at: datetime
    finished_at: datetime
    report: dict[str, Any]


def record_pull_run(db: Database, report: PullReport, started_at: datetime) -> None:
    """Keep ``report`` (a finished pull of ``report.board_id``)."""
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.pull_runs.insert().values(
                run_id=str(uuid.uuid4()),
                board_id=report.board_id,
                started_at=started_at,
                finished_at=utcnow(),
                items_read=report.items_read,
                subitems_read=report.subitems_read,
                values_changed=report.values_changed,
                drifted=report.drifted,
                unknown_items=report.unknown_items,
                unknown_subitems=report.unknown_subitems,
                missing_items=len(report.missing_items),
                missing_subitems=len(report.missing_subitems),
                report=json.dumps(report.as_dict(), ensure_ascii=False, default=str),
            )
        )


def last_pull_runs(db: Database) -> list[PullRun]:
    """The latest recorded pull of each board, by board."""
    runs = db.tables.pull_runs
    newest = (
        sa.select(runs.c.board_id, sa.func.max(runs.c.finished_at).label("finished_at"))
        .group_by(runs.c.board_id)
        .subquery()
    )
    statement = (
        sa.select(runs.c.board_id, runs.c.started_at, runs.c.finished_at, runs.c.report)
        .join(
            newest,
            sa.and_(
                newest.c.board_id == runs.c.board_id, newest.c.finished_at == runs.c.finished_at
            ),
        )
        .order_by(runs.c.board_id)
    )
    with db.engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [PullRun(r.board_id, r.started_at, r.finished_at, json.loads(r.report)) for r in rows]
