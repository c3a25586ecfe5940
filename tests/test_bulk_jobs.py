"""The bulk journal: a job's upload URL expiry, read from the pre-signed URL it was given
(``X-Amz-Expires`` from ``X-Amz-Date``), 10 minutes when the URL does not say."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from helpers.crashes import Crash
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.emulator.limits import Limits
from ordersync.monday import MondayClient
from ordersync.push.bulk.jobs import UPLOAD_URL_LIFETIME, upload_expiry
from ordersync.sync import run_sync
from test_bulk import TOKEN, BulkTransport, bulk_config, count_jobs
from test_exactly_once import GREYSON, assert_exactly_once

STARTED = datetime(2026, 12, 2, 11, 0, 5)
BUCKET = "https://uploads.example/job-1.csv"


@pytest.mark.parametrize(
    ("query", "expires"),
    [
        # signed 5 s before our start: the lifetime counts from our start (the later)
        ("X-Amz-Date=20261202T110000Z&X-Amz-Expires=300", STARTED + timedelta(seconds=300)),
        # monday's clock ahead of ours: its signing time + lifetime is later, and kept
        ("X-Amz-Date=20261202T110200Z&X-Amz-Expires=300", datetime(2026, 12, 2, 11, 7, 0)),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600", STARTED + timedelta(hours=1)),
        # a date not in SigV4's form (the emulator's clock reading): our start time
        ("X-Amz-Date=1000.0&X-Amz-Expires=120", STARTED + timedelta(seconds=120)),
        # no lifetime, or none readable: monday's documented 10 minutes
        ("X-Amz-Date=20261202T110000Z", STARTED + UPLOAD_URL_LIFETIME),
        ("X-Amz-Expires=ten&X-Amz-Date=20261202T110000Z", STARTED + UPLOAD_URL_LIFETIME),
        ("", STARTED + UPLOAD_URL_LIFETIME),
    ],
)
def test_the_upload_url_says_when_it_expires(query: str, expires: datetime) -> None:
    assert upload_expiry(f"{BUCKET}?{query}" if query else BUCKET, STARTED) == expires


@pytest.mark.parametrize("ttl", [120.0, 600.0])
def test_a_job_is_journalled_with_its_url_s_lifetime(
    db: Database, config: SyncConfig, clock: ManualClock, ttl: float
) -> None:
    emulator = Emulator(clock=clock, seed=True, limits=Limits(bulk_url_ttl=ttl))
    config = bulk_config(config, mode="always")
    with MondayClient(
        "http://emulator.test/v2", TOKEN, transport=BulkTransport(emulator), clock=clock
    ) as client:
        assert run_sync(db, config, client, GREYSON).exit_code == 0
    (job,) = count_jobs(db)
    assert job["upload_expires_at"] - job["started_at"] == timedelta(seconds=ttl)
    assert_exactly_once(db, config, emulator)


@pytest.mark.parametrize("ttl", [120.0, 600.0])
def test_a_resumed_job_whose_file_never_arrived_is_waited_out_for_its_url_s_lifetime(
    db: Database, config: SyncConfig, clock: ManualClock, ttl: float
) -> None:
    emulator = Emulator(clock=clock, seed=True, limits=Limits(bulk_url_ttl=ttl))
    config = bulk_config(config, mode="always")
    crash = BulkTransport(emulator, crash={("upload", 1): "crash_before"})
    with MondayClient("http://emulator.test/v2", TOKEN, transport=crash, clock=clock) as client:
        with pytest.raises(Crash):
            run_sync(db, config, client, GREYSON)
    resumed = BulkTransport(emulator)
    started = clock.monotonic()
    with MondayClient("http://emulator.test/v2", TOKEN, transport=resumed, clock=clock) as client:
        assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert sorted(job["state"] for job in count_jobs(db)) == ["ABANDONED", "SETTLED"]
    # the abandoned job was polled until its URL had expired, not much longer
    poll = config.delivery.bulk.poll_seconds
    assert ttl - 2 * poll <= resumed.seen["JobStatus"] * poll
    assert clock.monotonic() - started < ttl + 300  # the second job's own run: well under
    assert_exactly_once(db, config, emulator)
