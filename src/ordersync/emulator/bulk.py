"""monday's asynchronous bulk import: ``ingest_items``, ``backfill_items``, ``fetch_job_status``.

A job starts with a mutation that answers ``{job_id, upload_url}``; the client ``PUT``s a CSV
file to the URL (served by the emulator's own HTTP server and behaving like an S3 pre-signed
URL); the job then processes on the emulator's clock and ``fetch_job_status`` reports it. Items
and subitems are created (or, with ``on_match``, updated or skipped) through the store like any
other item, so every read sees them; their ids are not returned. After a job has processed
rows, a per-row report is served at ``report_url``.

Sources: ``../shared/monday/FACTS.md`` "Bulk import"; developer.monday.com "Importing items in
bulk" (docs/importing-items-in-bulk), "ingest_items" (reference/ingest-items-api-reference) and
"Bulk import other types" (reference/bulk-import-other-types). What monday leaves open is the
emulator's choice, listed in docs/emulator.md "Bulk import", or a switch (``Undocumented``):

* the upload is checked when it arrives: a bad file, a file over the size or row limit, an
  ingest over the hourly item budget or a board that would overflow make the job ``REJECTED``
  at once (``INVALID_UPLOAD``, ``FILE_TOO_LARGE``, ``ACCOUNT_CAPACITY_EXCEEDED``,
  ``BOARD_CAPACITY_EXCEEDED``); ``backfill_items`` without an account admin is ``REJECTED``
  ``PERMISSION_DENIED`` as soon as it is created (its URL refuses the upload);
* processing takes ``Limits.bulk_job_seconds`` plus ``rows / Limits.bulk_rows_per_second``
  from the upload (or from when a slot frees up, ``Undocumented.bulk_parallel_jobs``); rows
  are applied in file order as that time passes, so a poll in the middle sees part of them;
* a board that fills up while a job runs stops it: ``FAILED`` / ``BOARD_CAPACITY_EXCEEDED``;
  ``fail_next_job`` makes the next job fail the same way with any reason (a fault);
* the report is CSV ``row,name,status,reason`` (``row`` counts data records from 1, ``status``
  one of ``created updated skipped invalid failed``); monday's format is undocumented, so a
  client must not depend on it.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import math
import re
import secrets
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from graphql import FieldNode, OperationDefinitionNode

from ordersync.clock import Clock
from ordersync.emulator import api_errors
from ordersync.emulator.api_errors import HttpAnswer, MondayAPIError
from ordersync.emulator.model import Board, Column, Item, ItemState

if TYPE_CHECKING:
    from ordersync.emulator.limits import Limits, Undocumented
    from ordersync.emulator.store import Store

START_FIELDS = frozenset({"ingest_items", "backfill_items"})
BULK_FIELDS = START_FIELDS | {"fetch_job_status"}
FIRST_VERSION = "2026-07"
UPLOAD_PATH = "/emulator/uploads/"
REPORT_PATH = "/emulator/reports/"
HOUR = 3600.0
SUBITEM_SUFFIX = ".subitem"
NULL_CELL = "<NULL>"
FIRST_JOB_ID = 7_700_000_001
REPORT_HEADER = ("row", "name", "status", "reason")

UPLOAD_PENDING = "UPLOAD_PENDING"
PROCESSING = "PROCESSING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
REJECTED = "REJECTED"
TERMINAL = frozenset({COMPLETED, FAILED, REJECTED})

INVALID_UPLOAD = "INVALID_UPLOAD"
FILE_TOO_LARGE = "FILE_TOO_LARGE"
ACCOUNT_CAPACITY = "ACCOUNT_CAPACITY_EXCEEDED"
BOARD_CAPACITY = "BOARD_CAPACITY_EXCEEDED"
PERMISSION_DENIED = "PERMISSION_DENIED"
AUTHORIZATION_FAILED = "AUTHORIZATION_FAILED"
INTERNAL_ERROR = "INTERNAL_ERROR"
FAILURE_REASONS = frozenset(
    {
        INVALID_UPLOAD,
        FILE_TOO_LARGE,
        ACCOUNT_CAPACITY,
        BOARD_CAPACITY,
        PERMISSION_DENIED,
        AUTHORIZATION_FAILED,
        INTERNAL_ERROR,
    }
)
COUNT_KEYS = ("submitted", "invalid", "skipped", "created", "updated", "failed")
IMPORT_TYPES = frozenset({"text", "long_text", "numbers", "status", "dropdown", "date"})
"""Column types the emulator imports (monday's list is longer: board relation, email, link,
people, phone, timeline; the emulator has no such writable columns)."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Rejection(Exception):
    """A job refused as a whole: ``reason`` (``BulkImportFailureReason``) and a message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Row:
    """One data record of the file: its number (1 = first after the header) and cells."""

    number: int
    name: str
    subitem_name: str
    cells: dict[str, str]
    subitem_cells: dict[str, str]

    @property
    def names_item(self) -> bool:
        """Whether ``name`` is filled (blanks don't count; the name is kept as written)."""
        return bool(self.name.strip())

    @property
    def names_subitem(self) -> bool:
        """Whether ``name.subitem`` is filled."""
        return bool(self.subitem_name.strip())


@dataclass
class ImportJob:
    """One import job and everything ``fetch_job_status`` reports of it."""

    id: str
    kind: str  # "ingest" or "backfill"
    board_id: str
    group_id: str
    on_match: dict[str, str] | None
    created_at: float
    upload_issued: str
    status: str = UPLOAD_PENDING
    failure_reason: str | None = None
    failure_message: str | None = None
    rows: list[Row] = field(default_factory=list)
    done: int = 0
    uploaded_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    etag: str | None = None
    outcomes: list[tuple[int, str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    has_item: bool = False
    parent_id: str | None = None
    fail_after: tuple[int, str] | None = None
    match_index: dict[str, Item] | None = field(default=None, repr=False)
    """The board's items by match value, built once per ``advance`` (``on_match``)."""

    @property
    def report_created(self) -> bool:
        return self.status in (COMPLETED, FAILED) and bool(self.outcomes)


class BulkImports:
    """The account's import jobs, its job-start and item-per-hour budgets, and the uploads.

    Args:
        store: the boards (items are created through it).
        clock: the emulator's clock (expiry, processing, budgets).
        limits: ``bulk_*`` figures of ``Limits``.
        undocumented: ``bulk_budget_counts_mutations`` and ``bulk_parallel_jobs``.
        account_admin: whether the token's user is an account admin (``backfill_items``).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        limits: Limits,
        undocumented: Undocumented,
        *,
        account_admin: bool = True,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = limits
        self._undocumented = undocumented
        self.account_admin = account_admin
        self.jobs: dict[str, ImportJob] = {}
        self._secret = secrets.token_bytes(32)
        self._next_id = FIRST_JOB_ID
        self._starts: deque[float] = deque()
        self._items_used: deque[tuple[float, int]] = deque()
        self._fail_next: tuple[int, str] | None = None
        # The store's lock: jobs change items, and a status read runs inside a request.
        self._lock = store.lock

    # -- starting jobs -------------------------------------------------------------------

    def throttle(
        self, operation: OperationDefinitionNode | None, *, legacy: bool
    ) -> HttpAnswer | None:
        """Count the job starts of a request against 100 per hour; 429 when over.

        monday: HTTP 429 ``RATE_LIMIT_EXCEEDED`` with ``extensions.retryAfterMs`` (FACTS.md);
        the emulator also sends ``Retry-After`` in seconds. A refused request starts nothing.
        """
        wanted = job_starts(operation)
        limit = self._limits.bulk_starts_per_hour
        if not wanted or limit is None:
            return None
        with self._lock:
            now = self._clock.monotonic()
            while self._starts and self._starts[0] <= now - HOUR:
                self._starts.popleft()
            if len(self._starts) + wanted > limit:
                oldest = self._starts[0] if self._starts else now
                retry_ms = max(1, math.ceil((oldest + HOUR - now) * 1000))
                answer = api_errors.request_error(
                    429,
                    api_errors.RATE_LIMIT,
                    f"Rate limit exceeded: at most {limit} import jobs per hour",
                    legacy=legacy,
                    retry_in_seconds=math.ceil(retry_ms / 1000),
                )
                if legacy:
                    answer.body["error_data"]["retryAfterMs"] = retry_ms
                else:
                    answer.body["errors"][0]["extensions"]["retryAfterMs"] = retry_ms
                return answer
            self._starts.extend([now] * wanted)
        return None

    def start(
        self,
        kind: str,
        board_id: str,
        group_id: str,
        on_match: dict[str, Any] | None,
        base_url: str,
    ) -> dict[str, str]:
        """A new job (``UPLOAD_PENDING``) and its upload URL; monday's errors for a wrong board,
        group or match column."""
        board = self._store.board(board_id)
        if board.is_subitems_board:
            raise api_errors.MondayAPIError(
                api_errors.INVALID_BOARD,
                "Items can't be imported into a subitems board; import them with their items",
                error_data={"board_id": board.id},
            )
        group = board.groups.get(group_id)
        if group is None or group.deleted or group.archived:
            raise api_errors.MondayAPIError(
                api_errors.RESOURCE_NOT_FOUND,
                f"Group {group_id} was not found on board {board.id}",
                status_code=404,
                error_data={"group_id": group_id, "board_id": board.id},
            )
        match = dict(on_match) if on_match else None
        if match is not None and match["match_column_id"] not in board.columns:
            raise api_errors.invalid_column(match["match_column_id"], board.id)
        with self._lock:
            now = self._clock.monotonic()
            job = ImportJob(
                id=str(self._next_id),
                kind=kind,
                board_id=board.id,
                group_id=group.id,
                on_match=match,
                created_at=now,
                upload_issued=_issued(now),
            )
            self._next_id += 1
            if kind == "backfill" and not self.account_admin:
                self._reject(job, PERMISSION_DENIED, "backfill_items needs an account admin")
            self.jobs[job.id] = job
        return {"job_id": job.id, "upload_url": self._signed(base_url, UPLOAD_PATH, job, "upload")}

    def fail_next_job(self, reason: str = INTERNAL_ERROR, after_rows: int = 0) -> None:
        """A fault: the next job to process fails with ``reason`` after ``after_rows`` rows."""
        if reason not in FAILURE_REASONS:
            raise ValueError(f"unknown failure reason {reason!r}; one of {sorted(FAILURE_REASONS)}")
        if after_rows < 0:
            raise ValueError("after_rows must be 0 or more")
        with self._lock:
            self._fail_next = (after_rows, reason)

    def count_mutation_creates(self, created: int) -> None:
        """Items made by ``create_item``/``create_subitem``: they use the hourly import budget
        only when ``Undocumented.bulk_budget_counts_mutations`` says so."""
        if created and self._undocumented.bulk_budget_counts_mutations:
            with self._lock:
                self._items_used.append((self._clock.monotonic(), created))

    def summary(self) -> list[dict[str, Any]]:
        """Every job as ``{job_id, kind, board_id, group_id, status, rows, done,
        failure_reason}``, in creation order (``GET /emulator/bulk/jobs``, for tests)."""
        self.advance()
        with self._lock:
            return [
                {
                    "job_id": job.id,
                    "kind": job.kind,
                    "board_id": job.board_id,
                    "group_id": job.group_id,
                    "status": job.status,
                    "rows": len(job.rows),
                    "done": job.done,
                    "failure_reason": job.failure_reason,
                }
                for job in sorted(self.jobs.values(), key=lambda j: int(j.id))
            ]

    # -- status --------------------------------------------------------------------------

    def status(self, job_id: str, base_url: str) -> dict[str, Any]:
        """``ItemsJobStatus`` of a job (``ResourceNotFoundException`` for an unknown id)."""
        self.advance()
        with self._lock:
            job = self.jobs.get(str(job_id))
            if job is None:
                raise MondayAPIError(
                    api_errors.RESOURCE_NOT_FOUND,
                    f"Job with id {job_id} was not found",
                    status_code=404,
                    error_data={"job_id": str(job_id), "resource_type": "job"},
                )
            report_url = None
            if job.report_created:
                report_url = self._signed(
                    base_url, REPORT_PATH, job, "report", _issued(self._clock.monotonic())
                )
            return {
                "__typename": "ItemsJobStatus",
                "status": job.status,
                "counts": dict(job.counts),
                "progress_percentage": _progress(job),
                "failure_reason": job.failure_reason,
                "failure_message": job.failure_message,
                "fully_imported": job.status == COMPLETED,
                "report_created": job.report_created,
                "report_url": report_url,
            }

    # -- the pre-signed URLs ---------------------------------------------------------------

    def upload(
        self, job_id: str, method: str, args: dict[str, str], content_type: str, body: bytes
    ) -> HttpAnswer:
        """``PUT`` of the CSV file: 200 + ``ETag``, or S3's 403 (expired, wrong signature or
        method, already uploaded, not ``text/csv``)."""
        with self._lock:
            job = self.jobs.get(job_id)
            refused = self._check_url(job, "upload", args, method, "PUT")
            if refused is not None:
                return refused
            assert job is not None
            if job.status != UPLOAD_PENDING:
                return s3_error(
                    403, "AccessDenied", "The upload URL was already used or its job is closed"
                )
            if content_type.split(";")[0].strip().lower() != "text/csv":
                return s3_error(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided (the URL is signed for Content-Type: text/csv)",
                )
            now = self._clock.monotonic()
            job.uploaded_at = now
            job.etag = f'"{hashlib.md5(body).hexdigest()}"'  # S3's ETag: the MD5
            self._accept(job, body)
            return HttpAnswer(200, "", {"ETag": job.etag}, content_type="text/plain")

    def report(self, job_id: str, method: str, args: dict[str, str]) -> HttpAnswer:
        """``GET`` of the job's report (CSV ``row,name,status,reason``) while its URL lives."""
        self.advance()
        with self._lock:
            job = self.jobs.get(job_id)
            refused = self._check_url(job, "report", args, method, "GET")
            if refused is not None:
                return refused
            assert job is not None
            if not job.report_created:
                return s3_error(404, "NoSuchKey", "The specified key does not exist.")
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(REPORT_HEADER)
            writer.writerows(job.outcomes)
            return HttpAnswer(200, buffer.getvalue(), content_type="text/csv; charset=utf-8")

    def _signed(
        self, base_url: str, path: str, job: ImportJob, purpose: str, issued: str | None = None
    ) -> str:
        issued = issued or job.upload_issued
        query = urlencode(
            {
                "X-Amz-Date": issued,
                "X-Amz-Expires": str(int(self._limits.bulk_url_ttl)),
                "X-Amz-Signature": self._signature(job.id, purpose, issued),
            }
        )
        return f"{base_url.rstrip('/')}{path}{job.id}?{query}"

    def _signature(self, job_id: str, purpose: str, issued: str) -> str:
        message = f"{job_id}:{purpose}:{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _check_url(
        self, job: ImportJob | None, purpose: str, args: dict[str, str], method: str, allowed: str
    ) -> HttpAnswer | None:
        issued = args.get("X-Amz-Date", "")
        signature = args.get("X-Amz-Signature", "")
        if job is None or not hmac.compare_digest(
            signature, self._signature(job.id, purpose, issued)
        ):
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if method != allowed:
            # The signature covers the method: S3 answers another method with 403.
            return s3_error(
                403, "SignatureDoesNotMatch", f"The URL is signed for {allowed}, not {method}."
            )
        if self._clock.monotonic() > float(issued) + self._limits.bulk_url_ttl:
            return s3_error(403, "AccessDenied", "Request has expired")
        return None

    # -- checking an upload ------------------------------------------------------------------

    def _accept(self, job: ImportJob, body: bytes) -> None:
        """Check the file; the job goes to ``PROCESSING`` or is ``REJECTED``."""
        try:
            if len(body) > self._limits.bulk_max_file_bytes:
                raise Rejection(
                    FILE_TOO_LARGE,
                    f"The file is {len(body)} bytes; at most {self._limits.bulk_max_file_bytes}",
                )
            with self._store.lock:
                board = self._store.board(job.board_id)
                job.rows = parse_file(body, board, self._subitems_board(board), job.on_match)
                limit = (
                    self._limits.bulk_backfill_rows
                    if job.kind == "backfill"
                    else self._limits.bulk_ingest_rows
                )
                if len(job.rows) > limit:
                    raise Rejection(
                        INVALID_UPLOAD,
                        f"The file has {len(job.rows)} rows; "
                        f"a {job.kind} job takes at most {limit}",
                    )
                self._check_board_capacity(job, board)
                if job.kind == "ingest":
                    self._reserve_items(job)
        except Rejection as rejection:
            self._reject(job, rejection.reason, rejection.message)
            return
        job.status = PROCESSING
        job.counts["submitted"] = len(job.rows)
        if self._fail_next is not None:
            job.fail_after, self._fail_next = self._fail_next, None

    def _subitems_board(self, board: Board) -> Board | None:
        if board.subitems_board_id is None:
            return None
        return self._store.boards.get(board.subitems_board_id)

    def _check_board_capacity(self, job: ImportJob, board: Board) -> None:
        limit = self._store.items_per_board
        if limit is None:
            return
        items = [r for r in job.rows if r.names_item and not r.names_subitem]
        if job.on_match is not None:
            column = board.columns[job.on_match["match_column_id"]]
            existing = self._match_index(board, column)
            items = [r for r in items if _match_value(r, column) not in existing]
        subitems = [r for r in job.rows if r.names_subitem and not r.names_item]
        for target, adding in ((board, len(items)), (self._subitems_board(board), len(subitems))):
            if target is None or not adding:
                continue
            held = sum(
                1 for i in self._store.board_items(target.id) if i.state is not ItemState.DELETED
            )
            if held + adding > limit:
                raise Rejection(
                    BOARD_CAPACITY,
                    f"Board {target.id} holds {held} items; {adding} more would pass its limit "
                    f"of {limit}",
                )

    def _reserve_items(self, job: ImportJob) -> None:
        """Reserve the job's rows from the hourly item budget up front (ingest only)."""
        budget = self._limits.bulk_items_per_hour
        if budget is None:
            return
        now = self._clock.monotonic()
        while self._items_used and self._items_used[0][0] <= now - HOUR:
            self._items_used.popleft()
        used = sum(n for _, n in self._items_used)
        wanted = sum(1 for r in job.rows if r.names_item or r.names_subitem)
        if used + wanted > budget:
            raise Rejection(
                ACCOUNT_CAPACITY,
                f"The job needs {wanted} items of the account's {budget} per hour; "
                f"{max(budget - used, 0)} are left this hour",
            )
        self._items_used.append((now, wanted))

    def _reject(self, job: ImportJob, reason: str, message: str) -> None:
        job.status, job.failure_reason, job.failure_message = REJECTED, reason, message
        job.ended_at = self._clock.monotonic()

    # -- processing ----------------------------------------------------------------------

    def advance(self) -> bool:
        """Apply every row due by now, in upload order; whether anything changed."""
        changed = False
        with self._lock:
            now = self._clock.monotonic()
            for job in sorted(self.jobs.values(), key=lambda j: (j.uploaded_at or 0, int(j.id))):
                if job.status != PROCESSING:
                    continue
                if job.started_at is None:
                    job.started_at = self._slot(job)
                    if job.started_at is None:
                        continue
                changed |= self._run(job, now)
        return changed

    def _slot(self, job: ImportJob) -> float | None:
        """When the job may start: at upload, or when a slot frees (``bulk_parallel_jobs``)."""
        assert job.uploaded_at is not None
        slots = self._undocumented.bulk_parallel_jobs
        if slots <= 0:
            return job.uploaded_at
        running = [
            (other.started_at, other.ended_at)
            for other in self.jobs.values()
            if other is not job and other.started_at is not None
        ]
        candidates = sorted(
            {job.uploaded_at}
            | {end for _, end in running if end is not None and end >= job.uploaded_at}
        )
        for moment in candidates:
            busy = sum(
                1 for start, end in running if start <= moment and (end is None or end > moment)
            )
            if busy < slots:
                return moment
        return None

    def _run(self, job: ImportJob, now: float) -> bool:
        """Apply the rows due by ``now``; finish the job when its time is up."""
        assert job.started_at is not None
        total = len(job.rows)
        stop = total if job.fail_after is None else min(job.fail_after[0], total)
        due = min(stop, self._rows_due(job, now))
        changed = False
        job.match_index = None  # the board may have changed since the last poll
        with self._quiet(job.kind == "backfill"):
            while job.done < due and job.status == PROCESSING:
                self._apply(job, job.rows[job.done])
                job.done += 1
                changed = True
        if job.status != PROCESSING or now < self._row_time(job, stop):
            return changed
        if job.fail_after is not None:
            reason = job.fail_after[1]
            job.status, job.failure_reason = FAILED, reason
            job.failure_message = f"The job failed after {job.done} rows ({reason}, injected)"
            job.ended_at = self._row_time(job, job.done)
        elif job.done == total:
            job.status, job.ended_at = COMPLETED, self._row_time(job, total)
        return changed

    def _rows_due(self, job: ImportJob, now: float) -> int:
        """Rows processed by ``now``: none during the job's set-up time, then at the rate."""
        assert job.started_at is not None
        begin = job.started_at + self._limits.bulk_job_seconds
        rate = self._limits.bulk_rows_per_second
        if now < begin:
            return 0
        if rate is None:
            return len(job.rows)
        return min(len(job.rows), int((now - begin) * rate))

    def _row_time(self, job: ImportJob, rows: int) -> float:
        """When the job has processed ``rows`` rows."""
        assert job.started_at is not None
        begin = job.started_at + self._limits.bulk_job_seconds
        rate = self._limits.bulk_rows_per_second
        return begin if rate is None else begin + rows / rate

    @contextmanager
    def _quiet(self, quiet: bool) -> Iterator[None]:
        """Backfill runs no automations and writes no activity: no webhook events either."""
        previous = self._store.silent
        self._store.silent = previous or quiet
        try:
            yield
        finally:
            self._store.silent = previous

    def _apply(self, job: ImportJob, row: Row) -> None:
        name = row.name if row.names_item else row.subitem_name
        if row.names_item and row.names_subitem:
            job.parent_id = None
            job.has_item = True
            self._outcome(
                job, row, name, "invalid", "a row may fill name or name.subitem, not both"
            )
        elif not row.names_item and not row.names_subitem:
            self._outcome(job, row, "", "skipped", "neither name nor name.subitem is filled")
        elif row.names_item:
            job.has_item = True
            job.parent_id = None
            self._apply_item(job, row)
        elif not job.has_item:
            self._outcome(job, row, name, "invalid", "a subitem row before any item row")
        elif job.parent_id is None:
            self._outcome(job, row, name, "failed", "its item row was not created")
        else:
            self._apply_subitem(job, row)

    def _apply_item(self, job: ImportJob, row: Row) -> None:
        board = self._store.board(job.board_id)
        match = self._matching_item(job, board, row)
        try:
            if match is not None and job.on_match and job.on_match["behaviour"] == "SKIP":
                column = job.on_match["match_column_id"]
                self._outcome(job, row, row.name, "skipped", f"an item with this {column} exists")
                return
            if match is not None:
                values = import_values(board, row.cells, update=True)
                values["name"] = row.name
                self._store.change_values(board.id, match.id, values, False)
                self._outcome(job, row, row.name, "updated", "")
                job.parent_id = match.id
                return
            values = import_values(board, row.cells, update=False)
            item = self._store.create_item(board.id, row.name, job.group_id, values, False)
        except MondayAPIError as error:
            self._row_error(job, row, row.name, error)
            return
        if job.match_index is not None and job.on_match is not None:
            match_column = board.columns[job.on_match["match_column_id"]]
            job.match_index.setdefault(self._store.cell(item, match_column)[0], item)
        job.parent_id = item.id
        self._outcome(job, row, row.name, "created", "")

    def _apply_subitem(self, job: ImportJob, row: Row) -> None:
        board = self._store.board(job.board_id)
        subitems_board = self._subitems_board(board)
        assert subitems_board is not None and job.parent_id is not None
        try:
            values = import_values(subitems_board, row.subitem_cells, update=False)
            self._store.create_subitem(job.parent_id, row.subitem_name, values, False)
        except MondayAPIError as error:
            self._row_error(job, row, row.subitem_name, error)
            return
        self._outcome(job, row, row.subitem_name, "created", "")

    def _row_error(self, job: ImportJob, row: Row, name: str, error: MondayAPIError) -> None:
        if error.code == api_errors.ITEMS_LIMIT:
            self._outcome(job, row, name, "failed", error.message)
            job.status, job.failure_reason = FAILED, BOARD_CAPACITY
            job.failure_message = error.message
            job.ended_at = self._row_time(job, job.done + 1)
            return
        self._outcome(job, row, name, "invalid", error.message)

    def _matching_item(self, job: ImportJob, board: Board, row: Row) -> Item | None:
        """The first item (oldest) anywhere on the board whose match column holds the row's
        value; ``None`` without ``on_match`` or with an empty value."""
        if job.on_match is None:
            return None
        column = board.columns[job.on_match["match_column_id"]]
        wanted = _match_value(row, column)
        if not wanted:
            return None
        if job.match_index is None:
            job.match_index = self._match_index(board, column)
        return job.match_index.get(wanted)

    def _match_index(self, board: Board, column: Column) -> dict[str, Item]:
        index: dict[str, Item] = {}
        for item in self._store.board_items(board.id):
            if item.is_active:
                index.setdefault(self._store.cell(item, column)[0], item)
        return index

    def _outcome(self, job: ImportJob, row: Row, name: str, status: str, reason: str) -> None:
        job.counts[status] += 1
        job.outcomes.append((row.number, name, status, reason))


# -- the file ----------------------------------------------------------------------------------


def parse_file(
    body: bytes, board: Board, subitems_board: Board | None, on_match: dict[str, str] | None
) -> list[Row]:
    """The data rows of an upload, by monday's rules, or ``Rejection`` (``INVALID_UPLOAD``).

    UTF-8 (a byte-order mark is allowed), comma-separated, ``"`` quoting; the first header is
    ``name``, then exact board column ids, ``name.subitem`` and ``<subitem column id>.subitem``
    (classic subitems; not with ``on_match``). Blank lines are ignored; a record with another
    number of fields than the header is malformed.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Rejection(INVALID_UPLOAD, f"The file is not UTF-8 ({error.reason})") from None
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline=""), strict=True) if r]
    except csv.Error as error:
        raise Rejection(INVALID_UPLOAD, f"The file is not valid CSV: {error}") from None
    if not records:
        raise Rejection(INVALID_UPLOAD, "The file is empty: the header row is missing")
    header = records[0]
    _check_header(header, board, subitems_board, on_match)
    rows = []
    for number, record in enumerate(records[1:], start=1):
        if len(record) != len(header):
            raise Rejection(
                INVALID_UPLOAD,
                f"Row {number} has {len(record)} fields; the header has {len(header)}",
            )
        cells = dict(zip(header, record, strict=True))
        rows.append(
            Row(
                number=number,
                name=cells.get("name", ""),
                subitem_name=cells.get("name" + SUBITEM_SUFFIX, ""),
                cells={
                    k: v for k, v in cells.items() if not k.endswith(SUBITEM_SUFFIX) and k != "name"
                },
                subitem_cells={
                    k.removesuffix(SUBITEM_SUFFIX): v
                    for k, v in cells.items()
                    if k.endswith(SUBITEM_SUFFIX) and k != "name" + SUBITEM_SUFFIX
                },
            )
        )
    return rows


def _check_header(
    header: list[str], board: Board, subitems_board: Board | None, on_match: dict[str, str] | None
) -> None:
    if header[0] != "name":
        raise Rejection(INVALID_UPLOAD, f"The first header must be 'name', not {header[0]!r}")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise Rejection(INVALID_UPLOAD, f"Headers appear twice: {', '.join(duplicates)}")
    subitem_headers = [h for h in header if h.endswith(SUBITEM_SUFFIX)]
    for name in header[1:]:
        if name.endswith(SUBITEM_SUFFIX):
            column_id = name.removesuffix(SUBITEM_SUFFIX)
            if subitems_board is None:
                raise Rejection(INVALID_UPLOAD, f"{name}: board {board.id} has no subitems")
            if column_id != "name" and column_id not in subitems_board.columns:
                raise Rejection(INVALID_UPLOAD, f"{name}: no such subitem column")
        elif name == "name" or name not in board.columns:
            raise Rejection(INVALID_UPLOAD, f"{name}: no such column on board {board.id}")
    if subitem_headers and "name" + SUBITEM_SUFFIX not in header:
        raise Rejection(INVALID_UPLOAD, "Subitem columns need a name.subitem header")
    if on_match is not None and subitem_headers:
        raise Rejection(
            INVALID_UPLOAD, "A file with subitems is create-only: on_match can't be used with it"
        )
    if on_match is not None and on_match["match_column_id"] not in header:
        raise Rejection(
            INVALID_UPLOAD, f"The match column {on_match['match_column_id']} is not in the file"
        )


def import_values(board: Board, cells: dict[str, str], *, update: bool) -> dict[str, Any]:
    """Column values for the store from a row's cells, by the import formats.

    Status: an exact existing active label; dropdown: existing labels, comma-separated; date
    ``YYYY-MM-DD``; numbers as decimal text; text and long text plain. An empty cell keeps the
    value (writes nothing); ``<NULL>`` clears it. A bad value is a ``ColumnValueException``.
    """
    raw: dict[str, Any] = {}
    for column_id, cell in cells.items():
        column = board.columns[column_id]
        if cell == "":
            continue
        if cell == NULL_CELL:
            if update:
                raw[column_id] = None
            continue
        if column.type not in IMPORT_TYPES:
            raise MondayAPIError(
                api_errors.COLUMN_VALUE,
                f"Column {column_id} ({column.type}) can't be imported",
                error_data={"column_id": column_id, "column_type": column.type},
            )
        raw[column_id] = _import_value(column, cell)
    return raw


def _import_value(column: Column, cell: str) -> Any:
    if column.type == "status":
        return {"label": cell}
    if column.type == "dropdown":
        return {"labels": [part.strip() for part in cell.split(",") if part.strip()]}
    if column.type == "date":
        if not _DATE.match(cell.strip()):
            raise MondayAPIError(
                api_errors.COLUMN_VALUE,
                f"Column {column.id}: a date is YYYY-MM-DD, not {cell!r}",
                error_data={"column_id": column.id, "column_type": "date", "column_value": cell},
            )
        return {"date": cell.strip()}
    if column.type == "long_text":
        return {"text": cell}
    return cell


def _match_value(row: Row, column: Column) -> str:
    return row.name if column.type == "name" else row.cells.get(column.id, "").strip()


# -- helpers -----------------------------------------------------------------------------------


def job_starts(operation: OperationDefinitionNode | None) -> int:
    """How many import jobs a request's root fields start."""
    if operation is None or operation.operation.value != "mutation":
        return 0
    return sum(
        1
        for s in operation.selection_set.selections
        if isinstance(s, FieldNode) and s.name.value in START_FIELDS
    )


def version_refusal(api_version: str | None, root_fields: frozenset[str]) -> HttpAnswer | None:
    """monday's bulk import exists from API 2026-07: an older ``API-Version`` doesn't know its
    fields (answered as a validation error naming the field; without the header the emulator
    assumes a version that has them)."""
    wanted = sorted(root_fields & BULK_FIELDS)
    if not wanted or not api_version or api_version >= FIRST_VERSION:
        return None
    errors = [
        {
            "message": f"Cannot query field '{name}': it exists from API version {FIRST_VERSION}"
            f" (this request asked for {api_version})",
            "extensions": {"code": api_errors.VALIDATION_FAILED},
        }
        for name in wanted
    ]
    return HttpAnswer(200, {"errors": errors, "account_id": api_errors.ACCOUNT_ID})


def s3_error(status: int, code: str, message: str) -> HttpAnswer:
    """An answer in S3's XML error format, as a pre-signed URL's host gives it."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return HttpAnswer(status, body, content_type="application/xml")


def _issued(now: float) -> str:
    return repr(round(now, 6))


def _progress(job: ImportJob) -> int:
    if job.status == COMPLETED:
        return 100
    if not job.rows:
        return 0
    return math.floor(100 * job.done / len(job.rows))
