"""The board's delivery lock: two runs never deliver to one board at once.

A row per board in the locks table, inserted by the holder (the primary key makes the second
insert fail on every dialect), refreshed while delivering, and taken over only after it expired
(a crashed holder).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from ordersync.db.engine import utcnow
from ordersync.errors import LockedError

DEFAULT_TTL = timedelta(minutes=10)


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
    def __init__(
        self, engine: sa.Engine, locks: sa.Table, board_id: int, owner: str, ttl: timedelta
    ) -> None:
        self.engine, self.locks, self.board_id, self.owner, self.ttl = (
            engine,
            locks,
            board_id,
            owner,
            ttl,
        )

    def acquire(self) -> None:
        now = utcnow()
        table = self.locks
        with self.engine.begin() as connection:
            connection.execute(
                table.delete().where(table.c.board_id == self.board_id, table.c.expires_at < now)
            )
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    table.insert().values(
                        board_id=self.board_id,
                        owner=self.owner,
                        acquired_at=now,
                        expires_at=now + self.ttl,
                    )
                )
        except sa.exc.IntegrityError:
            with self.engine.connect() as connection:
                holder = connection.execute(
                    sa.select(table.c.owner, table.c.expires_at).where(
                        table.c.board_id == self.board_id
                    )
                ).first()
            who = (
                f"{holder.owner} until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC" if holder else "?"
            )
            raise LockedError(
                f"board {self.board_id} is being synced by another ordersync run ({who}); "
                "try again when it has finished"
            ) from None

    def refresh(self) -> None:
        """Push the expiry forward; call between requests of a long delivery."""
        with self.engine.begin() as connection:
            connection.execute(
                self.locks.update()
                .where(self.locks.c.board_id == self.board_id, self.locks.c.owner == self.owner)
                .values(expires_at=utcnow() + self.ttl)
            )

    def release(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                self.locks.delete().where(
                    self.locks.c.board_id == self.board_id, self.locks.c.owner == self.owner
                )
            )
