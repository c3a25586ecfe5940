"""The board's delivery lock: two runs never deliver to one board at once.

A row per board in the locks table, inserted by the holder (the primary key makes the second
insert fail on every dialect), refreshed before every request, and taken over only when its
holder is gone: its process no longer runs (holder on this host), or it has not refreshed
for the whole time to live (holder on another host). A holder that finds its lock taken
stops before sending anything more.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa

from ordersync.db.engine import utcnow
from ordersync.errors import LockedError

# Longer than the longest stall of one request (retries included), so only a dead holder expires.
DEFAULT_TTL = timedelta(minutes=60)


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def local_pid(owner: str) -> int | None:
    """The pid of ``owner`` when it is a process on this host, else ``None``."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    return int(pid_text) if host == socket.gethostname() and pid_text.isdigit() else None


def holder_is_gone(owner: str, expires_at: datetime | None = None) -> bool:
    """A holder on this host is gone when its process is; elsewhere, when its lock expired."""
    pid = local_pid(owner)
    if pid is None:
        return expires_at is not None and expires_at < utcnow()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def board_lock(
    engine: sa.Engine, locks: sa.Table, board_id: int, *, ttl: timedelta = DEFAULT_TTL
) -> Iterator[BoardLock]:
    """Hold the delivery lock of ``board_id`` for the body of the ``with``.

    Raises:
        LockedError: another live run holds it.
    """
    lock = BoardLock(engine, locks, board_id, lock_owner(), ttl)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


class BoardLock:
    """The lock row of one board, held by ``owner`` (host:pid:random)."""

    def __init__(
        self, engine: sa.Engine, locks: sa.Table, board_id: int, owner: str, ttl: timedelta
    ) -> None:
        self.engine, self.locks, self.board_id = engine, locks, board_id
        self.owner, self.ttl = owner, ttl

    def acquire(self) -> None:
        """Take the lock, taking it over from a holder that is gone.

        Raises:
            LockedError: a live run holds it.
        """
        for attempt in range(2):
            if self._try_insert():
                return
            holder = self._holder()
            if holder is None and attempt == 0:
                continue  # released between our insert and our look: try again
            if (
                attempt == 0
                and holder is not None
                and holder_is_gone(holder.owner, holder.expires_at)
            ):
                self._remove(holder.owner)
                continue
            who = (
                f"{holder.owner}, expires {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC"
                if holder
                else "just released"
            )
            raise LockedError(
                f"board {self.board_id} is being synced by another ordersync run ({who}); "
                "try again when it has finished"
            )

    def refresh(self) -> None:
        """Push the expiry forward; called before every request of a delivery.

        Raises:
            LockedError: the lock was taken over (this run was presumed dead): stop now.
        """
        with self.engine.begin() as connection:
            updated = connection.execute(
                self.locks.update()
                .where(self.locks.c.board_id == self.board_id, self.locks.c.owner == self.owner)
                .values(expires_at=utcnow() + self.ttl)
            ).rowcount
        if updated != 1:
            raise LockedError(
                f"the lock on board {self.board_id} was taken over by another run; "
                "stopping before sending anything more"
            )

    def release(self) -> None:
        self._remove(self.owner)

    def _try_insert(self) -> bool:
        now = utcnow()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    self.locks.insert().values(
                        board_id=self.board_id,
                        owner=self.owner,
                        acquired_at=now,
                        expires_at=now + self.ttl,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def _holder(self) -> sa.Row | None:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(self.locks.c.owner, self.locks.c.expires_at).where(
                    self.locks.c.board_id == self.board_id
                )
            ).first()

    def _remove(self, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                self.locks.delete().where(
                    self.locks.c.board_id == self.board_id, self.locks.c.owner == owner
                )
            )
