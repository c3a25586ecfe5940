"""The board's lock: two runs (``sync``, ``pull``, ``serve``) never work on one board at once.

A row per board in the locks table, inserted by the holder (the primary key makes the second
insert fail on every dialect), refreshed before every request, and taken over only when its
holder is gone: its process no longer runs (holder on this host), or it has not refreshed
for the whole time to live (holder on another host). A holder that finds its lock taken
stops before sending anything more. Every read and write of the row is retried through a
transient database failure (``db.retry``): a lock row left behind by a live process would keep
every other run out for the whole time to live.

A PID alone does not name a process for long: a container restarted under the same hostname
hands the dead holder's PID to someone else. So the row also keeps the holder's process
identity (Linux: the boot id and the process's start time, field 22 of ``/proc/<pid>/stat``);
a live PID whose identity differs is a different process, and the lock is taken over. Where
``/proc`` is not there the identity is unknown and only the PID is checked (the portable
fallback).

The row says who holds it (``purpose``, host, PID, since when), and a run refused names it
(``BoardBusy``). A run may wait for the lock (``wait`` seconds, polling on the injected clock);
while it waits it marks the holder's row (``waiting``), so ``serve``, which applies webhook
events in short holds, lets it in before taking the lock again (``BoardLock.has_waiter``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

import sqlalchemy as sa

from ordersync.clock import Clock, SystemClock
from ordersync.db.engine import utcnow
from ordersync.db.retry import retry_transient
from ordersync.errors import LockedError

# Longer than the longest stall of one request (retries included), so only a dead holder expires.
DEFAULT_TTL = timedelta(minutes=60)
DEFAULT_POLL_SECONDS = 2.0
"""How often a waiting run tries again (below ``[serve] retry_seconds``, so it gets in first)."""

Purpose = Literal["sync", "pull", "serve"]
T = TypeVar("T")


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def local_pid(owner: str) -> int | None:
    """The pid of ``owner`` when it is a process on this host, else ``None``."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not (pid_text.isascii() and pid_text.isdigit()):
        return None
    return int(pid_text)


def process_identity(pid: int, proc: Path = Path("/proc")) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of ``pid``; ``None`` when unknown (no /proc).

    The start time alone repeats across reboots; with the boot id it names one process.
    """
    try:
        boot = (proc / "sys/kernel/random/boot_id").read_text().strip()
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # ``comm`` (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def holder_is_gone(
    owner: str, expires_at: datetime | None = None, process: str | None = None
) -> bool:
    """Whether the lock's holder is gone.

    On this host: its PID does not run, or runs a different process than the one recorded
    (``process``: see ``process_identity``). Elsewhere: its lock expired.
    """
    pid = local_pid(owner)
    if pid is None:
        return expires_at is not None and expires_at < utcnow()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a live process of another user
    if process is None:
        return False  # a holder from before identities were recorded: the PID is all we know
    current = process_identity(pid)
    return current is not None and current != process


@dataclass(frozen=True)
class LockHolder:
    """Who holds a board's lock (from its row)."""

    owner: str
    purpose: str | None
    since: datetime
    expires_at: datetime
    process: str | None = None

    @property
    def host(self) -> str:
        return self.owner.partition(":")[0]

    @property
    def pid(self) -> str:
        return self.owner.split(":")[1] if self.owner.count(":") >= 1 else "?"

    def describe(self) -> str:
        """``ordersync serve on host h (pid 12), since 2026-12-02 01:00:00 UTC``."""
        who = f"ordersync {self.purpose}" if self.purpose else "an ordersync run"
        return (
            f"{who} on host {self.host} (pid {self.pid}), since {self.since:%Y-%m-%d %H:%M:%S} UTC"
        )


class BoardBusy(LockedError):
    """The board's lock is held by a live run; ``holder`` says which.

    Attributes:
        board_id: the board.
        holder: the run holding it (``None`` when it was released while we looked).
        waited: seconds this run waited before giving up.
    """

    def __init__(self, board_id: int, holder: LockHolder | None, waited: float = 0.0) -> None:
        self.board_id, self.holder, self.waited = board_id, holder, waited
        who = holder.describe() if holder else "a run that was just releasing it"
        waited_text = f"; still busy after waiting {waited:g} s" if waited else ""
        hint = (
            " (serve holds the board only while it applies a few events)"
            if holder is not None and holder.purpose == "serve"
            else ""
        )
        super().__init__(
            f"board {board_id} is busy: {who}{waited_text}; try again when it has finished, "
            f"or wait for it with --wait SECONDS{hint}"
        )


@contextmanager
def board_lock(
    engine: sa.Engine,
    locks: sa.Table,
    board_id: int,
    *,
    purpose: Purpose = "sync",
    ttl: timedelta = DEFAULT_TTL,
    wait: float = 0.0,
    clock: Clock | None = None,
    poll: float = DEFAULT_POLL_SECONDS,
) -> Iterator[BoardLock]:
    """Hold the lock of ``board_id`` for the body of the ``with``.

    Args:
        engine: ordersync's database.
        locks: the locks table.
        board_id: the board.
        purpose: what the holder does (named to the runs it keeps out).
        ttl: how long the lock lives without a refresh.
        wait: seconds to wait for a busy board (polling every ``poll`` seconds on ``clock``).
        clock: sleeps while waiting (default: the system clock).
        poll: seconds between attempts while waiting.

    Raises:
        BoardBusy: another live run holds it (after ``wait`` seconds).
    """
    lock = BoardLock(engine, locks, board_id, lock_owner(), ttl, purpose, clock=clock)
    lock.acquire(wait=wait, clock=clock, poll=poll)
    try:
        yield lock
    finally:
        lock.release()


class BoardLock:
    """The lock row of one board, held by ``owner`` (host:pid:random)."""

    def __init__(
        self,
        engine: sa.Engine,
        locks: sa.Table,
        board_id: int,
        owner: str,
        ttl: timedelta,
        purpose: Purpose = "sync",
        *,
        clock: Clock | None = None,
    ) -> None:
        self.engine, self.locks, self.board_id = engine, locks, board_id
        self.owner, self.ttl, self.purpose = owner, ttl, purpose
        self.clock = clock  # sleeps between attempts after a transient database failure
        pid = local_pid(owner)
        self.process = process_identity(pid) if pid is not None else None

    def acquire(
        self, *, wait: float = 0.0, clock: Clock | None = None, poll: float = DEFAULT_POLL_SECONDS
    ) -> None:
        """Take the lock, taking it over from a holder that is gone; wait up to ``wait`` s.

        Raises:
            BoardBusy: a live run holds it (still, after ``wait`` seconds).
        """
        clock = clock or SystemClock()
        started = clock.monotonic()
        while True:
            holder = self._retried(self.try_acquire, "taking the board's lock")
            if holder is None:
                return
            remaining = wait - (clock.monotonic() - started)
            if remaining <= 0:
                raise BoardBusy(self.board_id, holder, waited=wait)
            self._mark_waiting(holder)
            clock.sleep(min(poll, remaining))

    def try_acquire(self) -> LockHolder | None:
        """One attempt: ``None`` when the lock is now ours, else who holds it."""
        for attempt in range(2):
            if self._try_insert():
                return None
            holder = self._holder()
            if holder is not None and holder.owner == self.owner:
                return None  # our insert committed though its answer was lost
            if holder is None and attempt == 0:
                continue  # released between our insert and our look: try again
            if (
                attempt == 0
                and holder is not None
                and holder_is_gone(holder.owner, holder.expires_at, holder.process)
            ):
                self._remove(holder.owner)
                continue
            return holder
        return None  # pragma: no cover - the loop always returns

    def refresh(self) -> None:
        """Push the expiry forward; called before every request of a delivery.

        Raises:
            LockedError: the lock was taken over (this run was presumed dead): stop now.
        """

        def push() -> int:
            with self.engine.begin() as connection:
                return connection.execute(
                    self.locks.update()
                    .where(self.locks.c.board_id == self.board_id, self.locks.c.owner == self.owner)
                    .values(expires_at=utcnow() + self.ttl)
                ).rowcount

        updated = self._retried(push, "refreshing the board's lock")
        if updated != 1:
            raise LockedError(
                f"the lock on board {self.board_id} was taken over by another run; "
                "stopping before sending anything more"
            )

    def has_waiter(self) -> bool:
        """Whether another run is waiting for this lock (it marked our row)."""

        def read() -> object:
            with self.engine.connect() as connection:
                return connection.execute(
                    sa.select(self.locks.c.waiting).where(
                        self.locks.c.board_id == self.board_id, self.locks.c.owner == self.owner
                    )
                ).scalar()

        return self._retried(read, "reading the board's lock") is not None

    def release(self) -> None:
        self._retried(lambda: self._remove(self.owner), "releasing the board's lock")

    def _retried(self, work: Callable[[], T], what: str) -> T:
        return retry_transient(work, self.engine, what, clock=self.clock)

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
                        purpose=self.purpose,
                        process=self.process,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def _holder(self) -> LockHolder | None:
        c = self.locks.c
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(c.owner, c.purpose, c.acquired_at, c.expires_at, c.process).where(
                    c.board_id == self.board_id
                )
            ).first()
        if row is None:
            return None
        return LockHolder(row.owner, row.purpose, row.acquired_at, row.expires_at, row.process)

    def _mark_waiting(self, holder: LockHolder) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                self.locks.update()
                .where(self.locks.c.board_id == self.board_id, self.locks.c.owner == holder.owner)
                .values(waiting=f"{self.purpose} {self.owner}"[:200])
            )

    def _remove(self, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                self.locks.delete().where(
                    self.locks.c.board_id == self.board_id, self.locks.c.owner == owner
                )
            )
