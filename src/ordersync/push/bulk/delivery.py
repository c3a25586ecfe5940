"""Import jobs in a batch's delivery: which item creates go through one, and the job's steps
from start to the rows recorded, exactly once.

Per batch (``Delivery.deliver``, before the item mutations): with ``[delivery.bulk] mode``
``auto``, more than ``threshold`` pending item creates go through import jobs (``always``: any
number; ``never``: none). The board is asked first for items with those keys (adopted, as
before any create); the lines an import file can carry (``files.importable``: labels that
exist, a known group) are packed into jobs, one group each, at most the job's row limit with
every item's subitems in the same file. Labels the board lacks (a file cannot create them)
are created first where the mapping allows it: dropdown labels through
``update_dropdown_column``, others by sending the fewest lines naming them by mutation (with
``create_labels_if_missing``). Everything else stays on mutations.

A job's steps: start (``ingest_items`` or ``backfill_items``) → journal (``jobs.record_job``,
committed) → ``PUT`` the file → poll ``fetch_job_status`` (every ``poll_seconds``, paced by
the client, with a progress bar) → read the board back by key (``readback``: ids, keys and
sizes, no other values: the job made the items from our file) and record what is there as
created. After a COMPLETED job, a row not on the board is an ERR row with monday's reason
(the report where it names one); after a FAILED or REJECTED one, the rows not there stay
PENDING and go by mutation (``auto``) or stop the batch resumable (``jobs`` whose reason no
retry passes).

Before anything is sent to a board, jobs left open by a crash are settled
(``resolve_open_jobs``): a job monday runs or ran is polled to its end and read back; a job
whose file may never have arrived is waited out until its upload URL expires, then abandoned
and read back (nothing of it can appear later). What the board holds is thus adopted before
any row is sent again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import cast

import sqlalchemy as sa

from ordersync.batches import add_counts
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.errors import (
    AuthError,
    LimitReachedError,
    MondayError,
    PermanentMondayError,
    RowRejected,
)
from ordersync.monday import Item, MondayClient
from ordersync.monday.classify import JOB_STOP_REASONS, classify_job_failure
from ordersync.monday.models import JobStatus
from ordersync.push.board import BoardContext
from ordersync.push.bulk.files import (
    ROW_LIMITS,
    JobPlan,
    Line,
    build_file,
    fits,
    importable,
    label_seeds,
    missing_labels,
    plan_jobs,
)
from ordersync.push.bulk.jobs import (
    BulkJob,
    close_job,
    mark_uploaded,
    note_status,
    open_jobs,
    record_job,
    upload_expiry,
)
from ordersync.push.bulk.readback import read_back, subitem_ids
from ordersync.push.bulk.report import report_reasons
from ordersync.push.lookup import find_subitems
from ordersync.push.rows import MAX_ATTEMPTS, ItemCreates, RowKind, SubitemCreates
from ordersync.states import Action, BulkJobState, RowStatus

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
SendRows = Callable[[RowKind, str, list[sa.Row]], None]  # Delivery.send_rows
FIRST_BULK_API_VERSION = "2026-07"
FALLBACK_REASONS = frozenset({"ACCOUNT_CAPACITY_EXCEEDED", "PERMISSION_DENIED"})
"""Job failures after which ``auto`` sends the rows by mutation (that can pass where the job
could not); any other stopping reason stops the batch in every mode."""
NOT_CREATED = "IMPORT_NOT_CREATED"
RAN = frozenset({"COMPLETED", "FAILED"})
"""Terminal states of a job that processed rows: what it made is ours."""
JOB_NOT_FOUND_CODES = frozenset({"JOB_NOT_FOUND", "ResourceNotFoundException"})
IN_CHUNK = 500  # ids per IN list (SQL Server takes at most 2,100 parameters a statement)


def wants_bulk(mode: str, threshold: int, creates: int, api_version: str) -> bool:
    """Whether ``creates`` pending item creates go through import jobs.

    ``never``: no; ``always``: any; ``auto``: more than ``threshold``. Never before API
    2026-07, which introduced bulk import.
    """
    if mode == "never" or creates == 0 or api_version < FIRST_BULK_API_VERSION:
        return False
    return mode == "always" or creates > threshold


class BulkDelivery:
    """Delivers a batch's large item creates through monday's import jobs."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board: BoardContext,
        item_creates: ItemCreates,
        subitem_creates: SubitemCreates,
        *,
        progress: Progress,
        heartbeat: Callable[[], None],
        send_rows: SendRows,
    ) -> None:
        self.db, self.config, self.client, self.board = db, config, client, board
        self.item_creates, self.subitem_creates = item_creates, subitem_creates
        self.progress, self.heartbeat, self.send_rows = progress, heartbeat, send_rows
        self.settings = config.delivery.bulk
        self.kind = "backfill" if self.settings.backfill else "ingest"
        self.fallback: str | None = None  # why this run sends by mutation (auto only)

    # ----------------------------------------------------------------------------- batch
    def deliver(self, batch_id: str) -> None:
        """Send the batch's importable item creates (with their subitems) through jobs."""
        if self.fallback is not None or not self._wanted(self._count_creates(batch_id)):
            return
        rows = self.item_creates.adopt(
            batch_id, self._pending_creates(batch_id), before_create=True
        )
        lines = self._lines(batch_id, rows)
        if self._create_labels(batch_id, lines):
            lines = self._lines(batch_id, self._pending_creates(batch_id))
        lines = self._importable(lines)
        if not self._wanted(len(lines)):
            return
        plans = plan_jobs(lines, self.board.group_ids, ROW_LIMITS[self.kind])
        running: list[tuple[BulkJob, str]] = []
        for number, plan in enumerate(plans, 1):
            if self.fallback is not None:
                break
            job = self._start(batch_id, plan)
            if job is not None:
                running.append((job, f"import {number}/{len(plans)}"))
        self._wait_all(running)

    def _wanted(self, creates: int) -> bool:
        return wants_bulk(
            self.settings.mode, self.settings.threshold, creates, self.client.api_version
        )

    def _count_creates(self, batch_id: str) -> int:
        staged = self.db.tables.staged_items
        with self.db.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(staged)
                .where(*self._pending_where(staged, batch_id))
            ).scalar_one()

    def _pending_creates(self, batch_id: str) -> list[sa.Row]:
        staged = self.db.tables.staged_items
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(staged)
                    .where(*self._pending_where(staged, batch_id))
                    .order_by(staged.c.order_key, staged.c.stg_id)
                ).all()
            )

    @staticmethod
    def _pending_where(staged: sa.Table, batch_id: str) -> list[sa.ColumnElement[bool]]:
        return [
            staged.c.batch_id == batch_id,
            staged.c.status == RowStatus.PENDING,
            staged.c.action == Action.CREATE,
            staged.c.attempts < MAX_ATTEMPTS,
        ]

    def _lines(self, batch_id: str, items: list[sa.Row]) -> list[Line]:
        """Each item with its pending subitem creates, in staged (size-column) order."""
        staged = self.db.tables.staged_subitems
        subitems: dict[str, list[sa.Row]] = {}
        with self.db.engine.connect() as connection:
            for row in connection.execute(
                sa.select(staged)
                .where(*self._pending_where(staged, batch_id))
                .order_by(staged.c.parent_stg_id, staged.c.stg_id)
            ):
                subitems.setdefault(row.parent_stg_id, []).append(row)
        return [Line(item, tuple(subitems.get(item.stg_id, ()))) for item in items]

    def _create_labels(self, batch_id: str, lines: list[Line]) -> bool:
        """Create the labels the lines name that the board lacks (a file cannot): dropdown
        labels through ``update_dropdown_column``; others by sending the fewest lines naming
        them by mutation first. Then the board is read again; ``True`` when anything changed.
        """
        limit = ROW_LIMITS[self.kind]
        size_column = self.board.subitems_board.columns[self.config.subitems.size_column_id]
        candidates = [line for line in lines if fits(line, self.board.group_ids, limit)]
        missing = [
            missing_labels(line, self.config, self.board.board.columns, size_column)
            for line in candidates
        ]
        wanted = {pair for labels in missing if labels for pair in labels}
        if not wanted or not self._wanted(sum(1 for m in missing if m is not None)):
            return False
        boards = {
            **{column_id: self.board.board for column_id in self.board.board.columns},
            size_column.id: self.board.subitems_board,
        }
        dropdowns: dict[str, list[str]] = {}
        for column_id, label in sorted(wanted):
            if boards[column_id].columns[column_id].type == "dropdown":
                dropdowns.setdefault(column_id, []).append(label)
        for column_id, labels in dropdowns.items():
            self.heartbeat()
            self.client.add_dropdown_labels(boards[column_id].id, column_id, labels)
        others = [
            (labels - {p for p in labels if p[0] in dropdowns}) if labels else labels
            for labels in missing
        ]
        seeds = label_seeds(candidates, others)
        if seeds:
            logger.info("bulk import: %d lines go first by mutation to create labels", len(seeds))
            items = [cast(sa.Row, line.item) for line in seeds]
            self.send_rows(self.item_creates, batch_id, items)
            subitems = tuple(s.stg_id for line in seeds for s in line.subitems)
            self.send_rows(self.subitem_creates, batch_id, _pending(self.subitem_creates, subitems))
        self.board.board = self.client.get_board(self.board.board_id)
        self.board.subitems_board = self.client.get_board(self.board.subitems_board.id)
        return True

    def _importable(self, lines: list[Line]) -> list[Line]:
        size_column = self.board.subitems_board.columns[self.config.subitems.size_column_id]
        limit = ROW_LIMITS[self.kind]
        return [
            line
            for line in lines
            if importable(
                line,
                self.config,
                self.board.board.columns,
                size_column,
                self.board.group_ids,
                limit,
            )
        ]

    # ----------------------------------------------------------------------------- one job
    def _start(self, batch_id: str, plan: JobPlan) -> BulkJob | None:
        """Start, journal and upload one job; ``None`` when it could not carry its rows.

        The batch's jobs are all uploaded before any is polled, so that monday can run them
        side by side (how many at once is undocumented)."""
        file = build_file(self.config, plan.lines)
        self.heartbeat()
        try:
            started = self.client.start_import(
                self.kind, self.board.board_id, plan.group_id, idempotency_key=str(uuid.uuid4())
            )
        except AuthError:
            raise
        except MondayError as error:
            self._cannot_help(error)
            return None
        started_at = utcnow()
        job = record_job(
            self.db,
            job_id=started.job_id,
            batch_id=batch_id,
            board_id=self.board.board_id,
            group_id=plan.group_id,
            kind=self.kind,
            item_stg_ids=file.item_stg_ids,
            subitem_stg_ids=file.subitem_stg_ids,
            file_digest=file.digest,
            file_rows=file.rows,
            started_at=started_at,
            upload_expires_at=upload_expiry(started.upload_url, started_at),
        )
        for kind, stg_ids in (
            (self.item_creates, file.item_stg_ids),
            (self.subitem_creates, file.subitem_stg_ids),
        ):
            for start in range(0, len(stg_ids), IN_CHUNK):
                kind.mark_sent(job.job_id, list(stg_ids[start : start + IN_CHUNK]))
        try:
            self.client.upload_file(started.upload_url, file.body)
        except PermanentMondayError as error:
            # Refused: expired, already used (a lost answer to a PUT that arrived), or the
            # job was refused at its start. Only monday's job status tells which.
            status = self._outwait_upload(job, self.client.job_status(job.job_id))
            if status.status == "UPLOAD_PENDING":
                self._settle(job, status, BulkJobState.ABANDONED)
                self._cannot_help(error)
                return None
        mark_uploaded(self.db, job.job_id)
        return job

    def _wait_all(self, running: list[tuple[BulkJob, str]]) -> None:
        """Poll the uploaded jobs until each ended, settling each as it ends; a refusal that
        stops the batch is raised once every job is settled."""
        stop: MondayError | None = None
        while running:
            self.heartbeat()
            still = []
            for job, label in running:
                status = self.client.job_status(job.job_id)
                self.progress(label, status.progress, 100)
                if not status.terminal:
                    note_status(self.db, job.job_id, status)
                    still.append((job, label))
                    continue
                try:
                    self._finish(job, status)
                except LimitReachedError as error:
                    stop = stop or error
            running = still
            if running:
                self.client.clock.sleep(self.settings.poll_seconds)
        if stop is not None:
            raise stop

    def _wait(self, job_id: str, label: str) -> JobStatus:
        """Poll until monday says the job ended (each poll paced by the client)."""
        while True:
            self.heartbeat()
            status = self.client.job_status(job_id)
            self.progress(label, status.progress, 100)
            if status.terminal:
                return status
            note_status(self.db, job_id, status)
            self.client.clock.sleep(self.settings.poll_seconds)

    def _finish(self, job: BulkJob, status: JobStatus) -> None:
        """Settle a job monday ended; a failed job stops the batch or falls back."""
        self._settle(job, status, BulkJobState.SETTLED)
        if status.status == "COMPLETED":
            return
        error = classify_job_failure(status.failure_reason, status.failure_message)
        if error.code in JOB_STOP_REASONS and not (
            self.settings.mode == "auto" and error.code in FALLBACK_REASONS
        ):
            raise error
        self._cannot_help(error)

    def _cannot_help(self, error: MondayError) -> None:
        """A job could not carry the rows: they go by mutation in this run, except that
        ``always`` stops at a refusal that passes later (resumable), e.g. the job starts."""
        if self.settings.mode != "auto" and error.retryable:
            raise error
        logger.warning("bulk import not used for the rest of this run: %s", error)
        self.fallback = str(error)

    # ----------------------------------------------------------------------------- settle
    def _settle(self, job: BulkJob, status: JobStatus | None, state: BulkJobState) -> None:
        """Read the job's rows back by key and record them; close the job.

        Items by key, subitems by parent and size. After a job that ran (COMPLETED or
        FAILED), what the board holds under the job's keys is what the job made from our file:
        recorded with its id, its values not read (``readback``). After a job that made
        nothing (REJECTED, abandoned), anything under those keys was made by someone else: the
        adoption path reads it and stages its differences from the source. After a COMPLETED
        job, rows not on the board become ERR rows with monday's reason; otherwise they stay
        PENDING.
        """
        completed = status is not None and status.status == "COMPLETED"
        if status is not None and status.status in RAN:
            missing, left = self._record_imported(job)
        else:
            missing, left = self._adopt(job)
        reasons: dict[str, tuple[str, str]] = {}
        if completed and (missing or left):
            reasons = report_reasons(self.client, status, self._file_order(job))
        with self.db.engine.begin() as connection:
            if completed:
                for row in missing:
                    problem = _not_created(job, reasons.get(row.stg_id))
                    self.item_creates.fail(connection, job.batch_id, row, problem)
                for row in left:
                    if row.parent_item_id is not None:  # else PARENT_FAILED with its item
                        problem = _not_created(job, reasons.get(row.stg_id))
                        self.subitem_creates.fail(connection, job.batch_id, row, problem)
            close_job(connection, self.db, job.job_id, state, status)

    def _record_imported(self, job: BulkJob) -> tuple[list[sa.Row], list[sa.Row]]:
        """Record the job's rows the board holds (DONE, counted as created) with the ids
        read back; return the item and subitem rows it does not hold."""
        items = _pending(self.item_creates, job.item_stg_ids)
        found = read_back(
            self.client, self.board.board_id, self.config, (r.order_key for r in items)
        )
        missing = self._record(
            self.item_creates, job.batch_id, items, lambda r: _id(found.get(r.order_key))
        )
        subitems = _pending(self.subitem_creates, job.subitem_stg_ids)
        size_column = self.config.subitems.size_column_id
        by_size = subitem_ids(found.values(), size_column)
        # Parents recorded by an earlier, interrupted settling were not read back this time.
        others = {r.parent_item_id for r in subitems if r.parent_item_id is not None} - {
            item.id for item in found.values()
        }
        by_size.update(find_subitems(self.client, others, size_column))
        left = self._record(
            self.subitem_creates,
            job.batch_id,
            subitems,
            lambda r: by_size.get((r.parent_item_id, r.size_label)),
        )
        return missing, left

    def _record(
        self,
        kind: ItemCreates | SubitemCreates,
        batch_id: str,
        rows: list[sa.Row],
        monday_id: Callable[[sa.Row], int | None],
    ) -> list[sa.Row]:
        """Record ``rows`` whose id is known as created (DONE); return the others."""
        left = []
        with self.db.engine.begin() as connection:
            for row in rows:
                found = monday_id(row)
                if found is None:
                    left.append(row)
                else:
                    kind.record(connection, row, found, RowStatus.DONE)
            add_counts(
                connection, self.db.tables, batch_id, {kind.succeeded: len(rows) - len(left)}
            )
        return left

    def _adopt(self, job: BulkJob) -> tuple[list[sa.Row], list[sa.Row]]:
        """Adopt what the board holds under the job's keys (made by someone else)."""
        items = _pending(self.item_creates, job.item_stg_ids)
        missing = self.item_creates.adopt(job.batch_id, items, before_create=False, created=True)
        subitems = _pending(self.subitem_creates, job.subitem_stg_ids)
        left = self.subitem_creates.adopt(job.batch_id, subitems, before_create=False, created=True)
        return missing, left

    def _file_order(self, job: BulkJob) -> list[str]:
        """The staged row ids in the job's file order (item, its subitems, next item …)."""
        staged = self.db.tables.staged_subitems
        parents: dict[str, str] = {}
        with self.db.engine.connect() as connection:
            for start in range(0, len(job.subitem_stg_ids), IN_CHUNK):
                chunk = list(job.subitem_stg_ids[start : start + IN_CHUNK])
                parents.update(
                    (row.stg_id, row.parent_stg_id)
                    for row in connection.execute(
                        sa.select(staged.c.stg_id, staged.c.parent_stg_id).where(
                            staged.c.stg_id.in_(chunk)
                        )
                    )
                )
        children: dict[str, list[str]] = {}
        for stg_id in job.subitem_stg_ids:
            children.setdefault(parents.get(stg_id, ""), []).append(stg_id)
        return [row for item in job.item_stg_ids for row in (item, *children.get(item, []))]

    # ----------------------------------------------------------------------------- resume
    def resolve_open_jobs(self) -> None:
        """Settle the board's jobs a crash left open, before anything else is sent."""
        for job in open_jobs(self.db, self.board.board_id):
            try:
                status: JobStatus | None = self.client.job_status(job.job_id)
            except PermanentMondayError as error:
                if error.code not in JOB_NOT_FOUND_CODES:
                    raise
                status = None  # monday never ran it
            if status is not None and status.status == "UPLOAD_PENDING":
                status = self._outwait_upload(job, status)
            if status is None or status.status == "UPLOAD_PENDING":
                self._settle(job, status, BulkJobState.ABANDONED)
                continue
            if job.state == BulkJobState.STARTED:
                mark_uploaded(self.db, job.job_id)
            if not status.terminal:
                status = self._wait(job.job_id, "import")
            try:
                self._finish(job, status)
            except LimitReachedError:
                raise
            except MondayError as error:
                logger.warning("resumed import job %s ended: %s", job.job_id, error)

    def _outwait_upload(self, job: BulkJob, status: JobStatus) -> JobStatus:
        """A job whose file may still arrive (its URL not yet expired): poll until it runs
        or the URL has expired, so nothing of it can appear after its rows are sent again."""
        remaining = (job.upload_expires_at - utcnow()).total_seconds() + self.settings.poll_seconds
        while status.status == "UPLOAD_PENDING" and remaining > 0:
            self.heartbeat()
            self.client.clock.sleep(self.settings.poll_seconds)
            remaining -= self.settings.poll_seconds
            status = self.client.job_status(job.job_id)
        return status


def _pending(kind: ItemCreates | SubitemCreates, stg_ids: tuple[str, ...]) -> list[sa.Row]:
    """The still-PENDING rows among ``stg_ids``, in their order (IN lists in chunks)."""
    rows: dict[str, sa.Row] = {}
    for start in range(0, len(stg_ids), IN_CHUNK):
        rows.update((r.stg_id, r) for r in kind.rows_by_id(list(stg_ids[start : start + IN_CHUNK])))
    return [rows[stg_id] for stg_id in stg_ids if stg_id in rows]


def _id(item: Item | None) -> int | None:
    return None if item is None else item.id


def _not_created(job: BulkJob, reason: tuple[str, str] | None) -> RowRejected:
    """The ERR row of a row a COMPLETED job did not put on the board."""
    if reason is not None:
        code, message = reason
        return RowRejected(code, f"import job {job.job_id}: {message}")
    return RowRejected(
        NOT_CREATED, f"import job {job.job_id} completed, but the row is not on the board"
    )
