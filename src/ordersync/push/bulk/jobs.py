"""The bulk journal (``MON_BulkJobs``): every import job is written down, committed, before
its file is uploaded.

An entry names the job (monday's id), its board and group, the staged rows its file carries
(items and subitems, in file order), the file's sha256 and when its upload URL expires. It is
STARTED until the upload is confirmed (UPLOADED), and SETTLED once monday's terminal state
has been read and the board read back by key, or ABANDONED when its URL expired before the
file arrived. A job still STARTED or UPLOADED after a crash is settled before anything else
is sent to that board (``BulkDelivery.resolve_open_jobs``). The upload URL itself is not
kept: it is a credential, and a job whose file may not have arrived is waited out instead,
until the URL's expiry read from it when the job started (``upload_expiry``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from ordersync.db import Database, utcnow
from ordersync.monday.models import JobStatus
from ordersync.states import OPEN_BULK_JOB_STATES, BulkJobState

UPLOAD_URL_LIFETIME = timedelta(minutes=10)
"""monday's pre-signed upload URLs expire after 10 minutes (FACTS.md "Bulk import"): assumed
when the URL does not say (``upload_expiry``)."""
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
"""``X-Amz-Date`` of a pre-signed S3 URL: when it was signed, UTC (SigV4's basic ISO 8601)."""


def upload_expiry(upload_url: str, started_at: datetime) -> datetime:
    """When a job's pre-signed upload URL expires, in naive UTC like ``started_at``.

    The URL says how long it lives (``X-Amz-Expires``, seconds) from when it was signed
    (``X-Amz-Date``). The later of signed + lifetime and ``started_at`` (taken once monday's
    answer has arrived, so after the signing) + lifetime is kept: a clock of ours behind or
    ahead of monday's never cuts the wait for a file that may still arrive short. A URL
    without a readable ``X-Amz-Expires`` lives ``UPLOAD_URL_LIFETIME``.
    """
    query = parse_qs(urlsplit(upload_url).query)
    lifetime = UPLOAD_URL_LIFETIME
    expires = (query.get("X-Amz-Expires") or [""])[0]
    if expires.isdigit():
        lifetime = timedelta(seconds=int(expires))
    deadline = started_at + lifetime
    try:
        signed = datetime.strptime((query.get("X-Amz-Date") or [""])[0], AMZ_DATE_FORMAT)
    except ValueError:
        return deadline
    return max(deadline, signed + lifetime)


@dataclass(frozen=True)
class BulkJob:
    """One journalled import job."""

    job_id: str
    batch_id: str
    board_id: int
    group_id: str
    kind: str
    item_stg_ids: tuple[str, ...]
    subitem_stg_ids: tuple[str, ...]
    file_digest: str
    state: BulkJobState
    upload_expires_at: datetime


def record_job(
    db: Database,
    *,
    job_id: str,
    batch_id: str,
    board_id: int,
    group_id: str,
    kind: str,
    item_stg_ids: tuple[str, ...],
    subitem_stg_ids: tuple[str, ...],
    file_digest: str,
    file_rows: int,
    started_at: datetime,
    upload_expires_at: datetime,
) -> BulkJob:
    """Journal a started job (STARTED), committed: call before its file is uploaded."""
    job = BulkJob(
        job_id,
        batch_id,
        board_id,
        group_id,
        kind,
        item_stg_ids,
        subitem_stg_ids,
        file_digest,
        BulkJobState.STARTED,
        upload_expires_at,
    )
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.bulk_jobs.insert().values(
                job_id=job_id,
                batch_id=batch_id,
                board_id=board_id,
                group_id=group_id,
                kind=kind,
                item_stg_ids=json.dumps(list(item_stg_ids)),
                subitem_stg_ids=json.dumps(list(subitem_stg_ids)),
                file_rows=file_rows,
                file_digest=file_digest,
                state=BulkJobState.STARTED,
                started_at=started_at,
                upload_expires_at=job.upload_expires_at,
            )
        )
    return job


def mark_uploaded(db: Database, job_id: str) -> None:
    """The file reached the upload URL (or monday says the job runs)."""
    _update(db, job_id, state=BulkJobState.UPLOADED, uploaded_at=utcnow())


def note_status(db: Database, job_id: str, status: JobStatus) -> None:
    """Keep monday's latest word on the job (state, counts, failure)."""
    _update(db, job_id, **_status_values(status))


def close_job(
    connection: sa.Connection,
    db: Database,
    job_id: str,
    state: BulkJobState,
    status: JobStatus | None,
) -> None:
    """SETTLED or ABANDONED; call inside the transaction that records the job's rows."""
    values: dict[str, Any] = {"state": state, "finished_at": utcnow()}
    if status is not None:
        values.update(_status_values(status))
    connection.execute(
        db.tables.bulk_jobs.update().where(db.tables.bulk_jobs.c.job_id == job_id).values(**values)
    )


def open_jobs(db: Database, board_id: int) -> list[BulkJob]:
    """Jobs of ``board_id`` still STARTED or UPLOADED, oldest first."""
    jobs = db.tables.bulk_jobs
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(jobs)
            .where(jobs.c.board_id == board_id, jobs.c.state.in_(sorted(OPEN_BULK_JOB_STATES)))
            .order_by(jobs.c.started_at, jobs.c.job_id)
        ).all()
    return [_job(row) for row in rows]


def jobs_of_batch(db: Database, batch_id: str) -> list[dict[str, Any]]:
    """Every job of a batch as a plain record (for reports and tests)."""
    jobs = db.tables.bulk_jobs
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(jobs).where(jobs.c.batch_id == batch_id).order_by(jobs.c.started_at)
        ).mappings()
        return [dict(row) for row in rows]


def _job(row: sa.Row) -> BulkJob:
    return BulkJob(
        row.job_id,
        row.batch_id,
        int(row.board_id),
        row.group_id,
        row.kind,
        tuple(json.loads(row.item_stg_ids)),
        tuple(json.loads(row.subitem_stg_ids)),
        row.file_digest,
        BulkJobState(row.state),
        row.upload_expires_at,
    )


def _status_values(status: JobStatus) -> dict[str, Any]:
    return {
        "job_status": status.status,
        "failure_reason": status.failure_reason,
        "failure_message": status.failure_message,
        "counts": json.dumps(status.counts, sort_keys=True),
    }


def _update(db: Database, job_id: str, **values: Any) -> None:
    jobs = db.tables.bulk_jobs
    with db.engine.begin() as connection:
        connection.execute(jobs.update().where(jobs.c.job_id == job_id).values(**values))
