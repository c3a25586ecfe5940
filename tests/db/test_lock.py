"""The board lock: one holder at a time; a dead or expired holder does not block forever."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ordersync.db import Database, utcnow
from ordersync.db.lock import board_lock, holder_is_gone
from ordersync.errors import LockedError


@pytest.fixture
def db(migrated: Database) -> Database:
    """ordersync's tables only (no source table: the lock needs none)."""
    return migrated


def _plant(db: Database, owner: str, expires_in: timedelta) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.locks.insert().values(
                board_id=1, owner=owner, acquired_at=utcnow(), expires_at=utcnow() + expires_in
            )
        )


def test_one_holder_at_a_time(db: Database) -> None:
    with board_lock(db.engine, db.tables.locks, 1):
        with pytest.raises(LockedError, match="board 1 is busy: ordersync sync on host"):
            with board_lock(db.engine, db.tables.locks, 1):
                pass
        with board_lock(db.engine, db.tables.locks, 2):  # other boards are free
            pass
    with board_lock(db.engine, db.tables.locks, 1):  # released on exit
        pass
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(db.tables.locks)).all() == []


def test_a_live_holder_on_another_host_blocks(db: Database) -> None:
    _plant(db, "other-host:1234:abcd", timedelta(minutes=5))
    with pytest.raises(LockedError, match=r"host other-host \(pid 1234\)"):
        with board_lock(db.engine, db.tables.locks, 1):
            pass


def test_an_expired_holder_on_another_host_is_taken_over(db: Database) -> None:
    _plant(db, "other-host:1234:abcd", timedelta(minutes=-1))
    with board_lock(db.engine, db.tables.locks, 1) as lock:
        assert lock.owner.startswith(socket.gethostname())


def test_a_live_local_holder_keeps_its_lock_even_when_expired(db: Database) -> None:
    import os

    _plant(db, f"{socket.gethostname()}:{os.getpid()}:alive", timedelta(minutes=-5))
    with pytest.raises(LockedError), board_lock(db.engine, db.tables.locks, 1):
        pass


def test_a_holder_whose_lock_was_taken_stops(db: Database) -> None:
    with board_lock(db.engine, db.tables.locks, 1) as lock:
        with db.engine.begin() as connection:  # another run took it over
            connection.execute(db.tables.locks.update().values(owner="other-host:1:x"))
        with pytest.raises(LockedError, match="taken over"):
            lock.refresh()


def test_a_killed_holder_on_this_host_is_taken_over(db: Database) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:dead"
    assert holder_is_gone(owner)
    _plant(db, owner, timedelta(minutes=5))
    with board_lock(db.engine, db.tables.locks, 1):
        pass


def test_holder_is_gone_only_for_dead_local_processes() -> None:
    import os

    assert not holder_is_gone(f"{socket.gethostname()}:{os.getpid()}:me")
    assert not holder_is_gone("another-machine:1:x")
    assert holder_is_gone("another-machine:1:x", utcnow() - timedelta(seconds=1))
    assert not holder_is_gone("garbage")
