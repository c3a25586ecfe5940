"""``sync`` = finish what an earlier run left unfinished, then plan + deliver, under the lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ordersync.batches import (
    BatchReport,
    count_errors,
    latest_batch_with_errors,
    load_report,
    unfinished_batches,
)
from ordersync.board import BoardContext
from ordersync.clock import Clock
from ordersync.config import Settings, SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.deliver import Delivery, Progress
from ordersync.errors import ConfigError
from ordersync.monday import MondayClient
from ordersync.plan import PlanResult, plan_batch
from ordersync.source import Scope
from ordersync.states import BatchStatus


@dataclass
class SyncOutcome:
    """What one ``ordersync sync`` did."""

    plan: PlanResult
    report: BatchReport | None = None
    resumed: list[BatchReport] = field(default_factory=list)
    requests: int = 0
    dry_run: bool = False

    @property
    def status(self) -> str:
        if self.plan.refused:
            return "REFUSED"
        if self.dry_run:
            return "DRY_RUN"
        if self.report is not None:
            return self.report.status
        if any(r.status != BatchStatus.BATCH_COMPLETED for r in self.resumed):
            return self.resumed[-1].status
        return "NO_CHANGES"

    @property
    def exit_code(self) -> int:
        """0 completed (or nothing to do), 3 completed with rejected rows, 1 failed."""
        statuses = [r.status for r in [*self.resumed, *([self.report] if self.report else [])]]
        completed = (BatchStatus.BATCH_COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS)
        if self.plan.refused or any(status not in completed for status in statuses):
            return 1
        if BatchStatus.COMPLETED_WITH_ERRORS in statuses or (self.dry_run and self.plan.rejected):
            return 3
        return 0

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "batch_id": report.batch_id if report else None,
            "status": self.status,
            "board_id": self.plan.board_id,
            "dry_run": self.dry_run,
            "planned": {
                "items_create": self.plan.items,
                "items_update": self.plan.item_updates,
                "items_archive": self.plan.item_archives,
                "subitems_create": self.plan.subitems,
                "subitems_update": self.plan.subitem_updates,
                "subitems_archive": self.plan.subitem_archives,
            },
            "unchanged": self.plan.unchanged,
            "refused": self.plan.refused,
            **{
                name: getattr(report, name) if report else 0
                for name in (
                    "items_created",
                    "items_adopted",
                    "items_updated",
                    "items_archived",
                    "items_failed",
                    "subitems_created",
                    "subitems_adopted",
                    "subitems_updated",
                    "subitems_archived",
                    "subitems_failed",
                )
            },
            "rows_rejected": report.rows_rejected if report else self.plan.rejected,
            "requests": self.requests,
            "resumed_batches": [r.as_dict() for r in self.resumed],
            "batch": report.as_dict() if report else None,
        }


def make_client(settings: Settings, config: SyncConfig, **kwargs: Any) -> MondayClient:
    """The monday client for these settings (checks that a real URL has a token)."""
    settings.require_token()
    delivery = config.delivery
    return MondayClient(
        settings.api_url,
        settings.api_token,
        api_version=delivery.api_version,
        timeout=delivery.timeout_seconds,
        max_retries=delivery.max_retries,
        **kwargs,
    )


def run_sync(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    scope: Scope,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    allow_mass_archive: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
    clock: Clock | None = None,
) -> SyncOutcome:
    """Finish unfinished batches of the board, then plan and deliver a new one.

    A dry run reads the board, plans without writing and sends nothing to monday; it counts
    the rows delivery would refuse for their labels among the rejected ones. ``wait``: seconds
    to wait for a board another run holds (polling on ``clock``) before ``BoardBusy``. A plan
    that would archive most of the scope's items is refused (``SyncOutcome.plan.refused``,
    exit code 1) unless ``allow_mass_archive``.
    """
    board_id = config.board_id(mode)
    plan_options: dict[str, Any] = {
        "mode": mode,
        "limit": limit,
        "allow_mass_archive": allow_mass_archive,
    }
    if dry_run:  # the board is read (not locked) so the dry run makes every check a run makes
        board = BoardContext.load(client, config, board_id)
        plan = plan_batch(db, config, scope, dry_run=True, board=board, **plan_options)
        return SyncOutcome(plan=plan, dry_run=True)
    before = client.stats.requests
    with board_lock(
        db.engine, db.tables.locks, board_id, purpose="sync", wait=wait, clock=clock
    ) as lock:
        board = BoardContext.load(client, config, board_id)
        delivery = Delivery(db, config, client, board, progress=progress, heartbeat=lock.refresh)
        resumed = [delivery.deliver(batch_id) for batch_id in unfinished_batches(db, board_id)]
        plan = plan_batch(db, config, scope, **plan_options)
        report = delivery.deliver(plan.batch_id) if plan.batch_id else None
    return SyncOutcome(
        plan=plan, report=report, resumed=resumed, requests=client.stats.requests - before
    )


@dataclass
class RetryOutcome:
    """What ``ordersync retry`` did: the new sync, and how many old rejections it cleared."""

    retried_batch: str
    sync: SyncOutcome
    resolved: int
    still_open: int

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.sync.as_dict(),
            "retried_batch": self.retried_batch,
            "resolved": self.resolved,
            "still_open": self.still_open,
        }


def run_retry(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    batch_id: str | None = None,
    *,
    progress: Progress | None = None,
) -> RetryOutcome:
    """Re-plan and re-deliver the rejected rows of a batch (default: the latest with any).

    The batch's scope is synced again: rows rejected before are still not on the board, so
    they are planned anew; those that now pass are delivered and their old rejections
    marked resolved, those still wrong are rejected again with today's reason.
    """
    batch_id = batch_id or latest_batch_with_errors(db)
    if batch_id is None:
        raise ConfigError("no batch with rejected rows to retry")
    report = load_report(db, batch_id)
    if report is None:
        raise ConfigError(f"no batch {batch_id}")
    scope = Scope(report.customer or "", report.po_number, report.season)
    outcome = run_sync(db, config, client, scope, mode=report.mode, progress=progress)
    resolved, still_open = count_errors(db, batch_id)
    return RetryOutcome(batch_id, outcome, resolved, still_open)
