"""``sync`` = finish what an earlier run left unfinished, then plan + deliver, under the lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa

from ordersync.batch_counters import Tally, counters, planned_json
from ordersync.batches import (
    BatchReport,
    count_errors,
    latest_batch_with_errors,
    load_report,
    resolve_batch_id,
    unfinished_batches,
)
from ordersync.clock import Clock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.db.retry import retry_transient
from ordersync.errors import (
    AuthError,
    ConfigError,
    DatabaseUnavailableError,
    ExitCode,
    LimitReachedError,
    LockedError,
    MondayUnreachableError,
    OrderSyncError,
)
from ordersync.monday import MondayClient
from ordersync.push.board import BoardContext
from ordersync.push.deliver import Delivery, Progress
from ordersync.push.plan import LineChange, PlanResult, plan_batch
from ordersync.push.source import Scope
from ordersync.settings import Settings
from ordersync.states import COMPLETED_BATCH_STATUSES as COMPLETED
from ordersync.states import BatchStatus, SyncStatus

logger = logging.getLogger(__name__)


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
            return SyncStatus.REFUSED
        if self.dry_run:
            return SyncStatus.DRY_RUN
        if self.report is not None:
            return self.report.status
        if any(r.status != BatchStatus.BATCH_COMPLETED for r in self.resumed):
            return self.resumed[-1].status
        return SyncStatus.NO_CHANGES

    @property
    def exit_code(self) -> ExitCode:
        """OK completed (or nothing to do), REJECTED completed with rejected rows, FAILED."""
        statuses = [r.status for r in [*self.resumed, *([self.report] if self.report else [])]]
        if self.plan.refused or any(status not in COMPLETED for status in statuses):
            return ExitCode.FAILED
        if BatchStatus.COMPLETED_WITH_ERRORS in statuses or (self.dry_run and self.plan.rejected):
            return ExitCode.REJECTED
        return ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "batch_id": report.batch_id if report else None,
            "status": self.status,
            "board_id": self.plan.board_id,
            "dry_run": self.dry_run,
            "planned": planned_json(self.plan),
            "unchanged": self.plan.unchanged,
            "refused": self.plan.refused,
            **{
                counter.json_key: getattr(report, counter.column) if report else 0
                for counter in counters(Tally.DELIVERED)
            },
            **{  # a dry run's are the plan's
                counter.json_key: getattr(report, counter.column)
                if report
                else counter.shown_in(self.plan)
                for counter in counters(Tally.REJECTED)
            },
            "requests": self.requests,
            "resumed_batches": [r.as_dict() for r in self.resumed],
            "batch": report.as_dict() if report else None,
            **({"plan": [_change_dict(c) for c in self.plan.preview]} if self.dry_run else {}),
        }


def _change_dict(change: LineChange) -> dict[str, Any]:
    """One line of a dry run's plan, as JSON: what the preview prints."""
    return {
        "action": str(change.action),
        "key": change.order_key,
        "item_name": change.item_name,
        "columns": [{"column": t, "old": old, "new": new} for t, old, new in change.columns],
        "sizes": [
            {"action": str(action), "size": size, "old": old, "new": new}
            for action, size, old, new in change.sizes
        ],
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
    book = run_book(
        db,
        config,
        client,
        [scope],
        mode=mode,
        dry_run=dry_run,
        limit=limit,
        allow_mass_archive=allow_mass_archive,
        progress=progress,
        wait=wait,
        clock=clock,
        keep_going=False,
    )
    outcome = book.customers[0].outcome
    assert outcome is not None  # without keep_going, a failure raises
    return outcome


# A failure that stops a whole-book run: monday refuses every further call (the token, the
# daily limit, monday out of reach), the board's lock was lost, or the database is gone.
BOOK_STOPPERS: tuple[type[Exception], ...] = (
    AuthError,
    LimitReachedError,
    MondayUnreachableError,
    LockedError,
    DatabaseUnavailableError,
)


@dataclass
class CustomerOutcome:
    """One customer of a whole-book sync: its outcome, or why it failed or did not run."""

    customer: str
    outcome: SyncOutcome | None = None
    error: str | None = None
    ran: bool = True
    stop: bool = False  # its failure stopped the customers after it

    @property
    def status(self) -> str:
        if not self.ran:
            return SyncStatus.NOT_RUN
        if self.outcome is None:
            return SyncStatus.FAILED
        return self.outcome.status

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.outcome is None else self.outcome.exit_code

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer,
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error,
            **(self.outcome.as_dict() if self.outcome else {}),
        }


@dataclass
class BookOutcome:
    """What a sync of several customers (``sync --all``, repeated ``--customer``) did."""

    board_id: int
    customers: list[CustomerOutcome]
    resumed: list[BatchReport] = field(default_factory=list)
    stopped_by: str | None = None  # the monday-wide failure that stopped the rest
    dry_run: bool = False

    @property
    def exit_code(self) -> ExitCode:
        """The worst of the customers' (``ExitCode.worst``); a resumed batch that did not
        complete counts as failed."""
        resumed = [ExitCode.FAILED for r in self.resumed if r.status not in COMPLETED]
        return ExitCode.worst([*(c.exit_code for c in self.customers), *resumed])

    def as_dict(self) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "stopped_by": self.stopped_by,
            "resumed_batches": [r.as_dict() for r in self.resumed],
            "customers": [c.as_dict() for c in self.customers],
        }


def run_book(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    scopes: list[Scope],
    *,
    mode: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    allow_mass_archive: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
    clock: Clock | None = None,
    keep_going: bool = True,
) -> BookOutcome:
    """Sync several scopes (customers) to one board: one batch each, under one lock.

    The board's lock is taken once and held across every customer; unfinished batches of the
    board are finished first. With ``keep_going``, a customer that fails is recorded and the
    next one runs, except after a failure that stops every further call (``BOOK_STOPPERS``:
    a refused token, the daily limit, monday out of reach, a lost lock): the customers left
    are recorded as not run. Without it, the first failure is raised.
    """
    board_id = config.board_id(mode)
    book = BookOutcome(board_id, [], dry_run=dry_run)
    plan_options: dict[str, Any] = {
        "mode": mode,
        "limit": limit,
        "allow_mass_archive": allow_mass_archive,
    }
    if dry_run:  # the board is read (not locked) so the dry run makes every check a run makes
        board = BoardContext.load(client, config, board_id)

        def plan_scope(scope: Scope) -> SyncOutcome:
            plan = plan_batch(db, config, scope, dry_run=True, board=board, **plan_options)
            return SyncOutcome(plan=plan, dry_run=True)

        book.customers = [_one_customer(s, keep_going, partial(plan_scope, s)) for s in scopes]
        return book
    mark = client.stats.requests  # the first customer's requests include the board's reads
    with board_lock(
        db.engine, db.tables.locks, board_id, purpose="sync", wait=wait, clock=clock
    ) as lock:
        board = BoardContext.load(client, config, board_id)
        delivery = Delivery(db, config, client, board, progress=progress, heartbeat=lock.refresh)

        def deliver(batch_id: str) -> BatchReport:
            # A delivery resumes from its journal, so a lost connection repeats it whole.
            work = partial(delivery.deliver, batch_id)
            return retry_transient(work, db.engine, f"delivering batch {batch_id}", clock=clock)

        def finish_unfinished() -> None:
            # Before a plan is repeated too: its commit may have landed though its answer was lost.
            unfinished = partial(unfinished_batches, db, board_id)
            batches = retry_transient(unfinished, db.engine, "reading batches", clock=clock)
            book.resumed += [deliver(b) for b in batches]

        finish_unfinished()

        def deliver_scope(scope: Scope) -> SyncOutcome:
            nonlocal mark
            try:
                plan = retry_transient(
                    partial(plan_batch, db, config, scope, **plan_options),
                    db.engine,
                    f"planning {scope.customer}",
                    clock=clock,
                    before_retry=finish_unfinished,
                )
                report = deliver(plan.batch_id) if plan.batch_id else None
                return SyncOutcome(plan=plan, report=report, requests=client.stats.requests - mark)
            finally:
                mark = client.stats.requests

        for scope in scopes:
            if book.stopped_by is not None:
                book.customers.append(CustomerOutcome(scope.customer, ran=False))
                continue
            result = _one_customer(scope, keep_going, partial(deliver_scope, scope))
            book.customers.append(result)
            if result.stop:
                book.stopped_by = result.error
    first = book.customers[0].outcome if book.customers else None
    if first is not None:
        first.resumed = book.resumed
    return book


def _one_customer(
    scope: Scope, keep_going: bool, work: Callable[[], SyncOutcome]
) -> CustomerOutcome:
    """Run one customer's sync; with ``keep_going`` its failure is recorded, not raised."""
    if not keep_going:
        return CustomerOutcome(scope.customer, work())
    try:
        return CustomerOutcome(scope.customer, work())
    except BOOK_STOPPERS as error:
        logger.warning("customer %s: %s; the customers left are not run", scope.customer, error)
        return CustomerOutcome(scope.customer, error=str(error), stop=True)
    except (OrderSyncError, sa.exc.SQLAlchemyError) as error:
        logger.warning("customer %s failed: %s", scope.customer, error)
        return CustomerOutcome(scope.customer, error=str(error).splitlines()[0])


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
    batch_id = resolve_batch_id(db, batch_id) if batch_id else latest_batch_with_errors(db)
    if batch_id is None:
        raise ConfigError("no batch with rejected rows to retry")
    report = load_report(db, batch_id)
    if report is None:
        raise ConfigError(f"no batch {batch_id}")
    scope = Scope(report.customer or "", report.po_number, report.season)
    outcome = run_sync(db, config, client, scope, mode=report.mode, progress=progress)
    resolved, still_open = count_errors(db, batch_id)
    return RetryOutcome(batch_id, outcome, resolved, still_open)
