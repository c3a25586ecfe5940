"""The board lock names its holder, knows a reused PID from its holder, and can be waited for
(on the injected clock: no test sleeps)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersync.clock import ManualClock
from ordersync.db import Database, utcnow
from ordersync.db.lock import BoardBusy, board_lock, holder_is_gone, process_identity

ME = os.getpid()
HOST = socket.gethostname()


@pytest.fixture
def db(migrated: Database) -> Database:
    """ordersync's tables only (no source table: the lock needs none)."""
    return migrated


def plant(
    db: Database, owner: str, *, process: str | None = None, purpose: str | None = None
) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.locks.insert().values(
                board_id=1,
                owner=owner,
                acquired_at=utcnow() - timedelta(minutes=3),
                expires_at=utcnow() + timedelta(minutes=30),
                process=process,
                purpose=purpose,
            )
        )


def lock_row(db: Database) -> sa.Row | None:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(db.tables.locks)).first()


# ---------------------------------------------------------------------- a PID in use again
@pytest.mark.skipif(process_identity(ME) is None, reason="no /proc: only the PID is known")
def test_a_live_pid_that_is_another_process_does_not_hold_the_lock(db: Database) -> None:
    """The dead holder's PID now runs something else (a container restarted under the same
    hostname): same PID, different start time, or the same start time after a reboot."""
    boot, _, started = process_identity(ME).rpartition(":")  # type: ignore[union-attr]
    for recorded in (f"{boot}:{int(started) + 1}", f"another-boot-id:{started}"):
        plant(db, f"{HOST}:{ME}:dead-run", process=recorded)
        assert holder_is_gone(f"{HOST}:{ME}:dead-run", process=recorded)
        with board_lock(db.engine, db.tables.locks, 1, purpose="pull") as lock:
            assert lock.owner != f"{HOST}:{ME}:dead-run"
            row = lock_row(db)
            assert row is not None and row.process == process_identity(ME)
            assert row.purpose == "pull"


def test_the_live_holder_itself_keeps_its_lock(db: Database) -> None:
    for recorded in (process_identity(ME), None):  # None: a holder from before 0003
        plant(db, f"{HOST}:{ME}:alive", process=recorded, purpose="serve")
        with pytest.raises(BoardBusy), board_lock(db.engine, db.tables.locks, 1):
            pass
        with db.engine.begin() as connection:
            connection.execute(db.tables.locks.delete())


def test_process_identity_reads_boot_id_and_start_time(tmp_path: Path) -> None:
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text("b00t\n")
    (tmp_path / "42").mkdir()
    fields = ["S", *[str(n) for n in range(4, 22)], "987654", "0"]  # fields 3..23
    (tmp_path / "42/stat").write_text(f"42 (odd ) name (x) {' '.join(fields)}\n")
    assert process_identity(42, tmp_path) == "b00t:987654"
    assert process_identity(43, tmp_path) is None  # no such process
    assert process_identity(42, tmp_path / "nowhere") is None  # no /proc: PID only


# ---------------------------------------------------------------------- naming the holder
@pytest.mark.parametrize("purpose", ["sync", "pull", "serve"])
def test_a_refused_run_is_told_who_holds_the_board(db: Database, purpose: str) -> None:
    plant(db, "build-host-7:4242:abcd", purpose=purpose)
    with pytest.raises(BoardBusy) as refused, board_lock(db.engine, db.tables.locks, 1):
        pass
    message = str(refused.value)
    assert (
        f"board 1 is busy: ordersync {purpose} on host build-host-7 (pid 4242), since " in message
    )
    assert "--wait SECONDS" in message and "another ordersync run" not in message
    assert refused.value.holder is not None and refused.value.holder.purpose == purpose
    assert ("applies a few events" in message) is (purpose == "serve")


# ---------------------------------------------------------------------- waiting
def test_waiting_gives_up_after_the_given_seconds(db: Database) -> None:
    plant(db, "build-host-7:4242:abcd", purpose="serve")
    clock = ManualClock()
    with pytest.raises(BoardBusy, match="still busy after waiting 7 s"):
        with board_lock(db.engine, db.tables.locks, 1, wait=7, clock=clock, poll=2):
            pass
    assert clock.slept == [2, 2, 2, 1]  # polled on the injected clock, never past the wait
    row = lock_row(db)
    assert row is not None and row.owner == "build-host-7:4242:abcd"
    assert row.waiting is not None and row.waiting.startswith("sync ")  # the holder is told


def test_a_waiting_run_gets_the_board_once_it_is_free(db: Database) -> None:
    plant(db, "build-host-7:4242:abcd", purpose="sync")

    class ReleasingClock(ManualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 3:  # the holder finishes while we wait
                with db.engine.begin() as connection:
                    connection.execute(db.tables.locks.delete())

    clock = ReleasingClock()
    with board_lock(db.engine, db.tables.locks, 1, wait=60, clock=clock, poll=2) as lock:
        assert lock_row(db).owner == lock.owner  # type: ignore[union-attr]
        assert not lock.has_waiter()
    assert clock.slept == [2, 2, 2]
