"""Stage 3, ``pull``: read the columns people own on monday back into the database.

``pull_board`` pages through the items board (``items_page``, then ``next_items_page`` per
cursor; ``[pull] page_size`` items a page, 500 at most) with each item's subitems in the same
page when monday accepts that query's complexity, else pages the subitems board on its own
(``[pull] subitems``): a nested page monday refuses as too complex (any of
``monday.errors.QUERY_TOO_COMPLEX``, the first page or a later one) switches the pull to
separate paging, and what was recorded before the switch is skipped by the checkpoint. Each
page (read by ``monday.reads.iter_pages``) is recorded in its own transaction by
``recorder.ValueRecorder``: monday-owned values typed into ``pulled_values``, the mirror's
snapshot and ``pulled_at``, every change in ``value_changes``, hand edits of database-owned
columns as drift. A cursor that expires mid-pull (monday keeps one 60 minutes) restarts the
paging at the first page: the rows recorded so far are the checkpoint (their ``pulled_at`` is
after the pull began), so they are skipped, not written twice; a page whose record the
database fails transiently is recorded again (``db.retry``). After the pass, mirror rows the
board no longer holds are looked up (archived or deleted) and handled by
``[pull] missing_item_policy`` (``missing.settle_missing``, as ``serve`` does). The pull
holds the board's lock, so it never interleaves with a sync's delivery or the webhook receiver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa

from ordersync.clock import Clock
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.lock import BoardLock, board_lock
from ordersync.db.retry import retry_transient
from ordersync.errors import PermanentMondayError
from ordersync.monday import Item, MondayClient
from ordersync.monday.classify import QUERY_TOO_COMPLEX
from ordersync.monday.reads import iter_pages
from ordersync.pull.missing import MissingRow, outside_lines, settle_missing
from ordersync.pull.recorder import Drift, Recorded, ValueRecorder, item_columns, subitem_columns
from ordersync.pull.runs import record_pull_run
from ordersync.push.board import BoardContext
from ordersync.states import MirrorState, Source

CURSOR_ERRORS = frozenset({"CursorExpiredError", "CursorException"})
MAX_RESTARTS = 5  # cursor restarts in one pass before the pull gives up
REPORT_SAMPLES = 50  # drifts, unknown and missing rows listed in a report (all are counted)

PullProgress = Callable[[str, int], None]  # (phase, rows read so far), after every page
T = TypeVar("T")


class _TooComplex(Exception):
    """monday refused a page of items with their subitems as too complex."""


@dataclass
class PullReport:
    """What one ``ordersync pull`` read, changed and found."""

    board_id: int
    subitems_board_id: int | None
    policy: str
    paging: str
    pages: int = 0
    requests: int = 0
    restarts: int = 0
    items_read: int = 0
    subitems_read: int = 0
    values_changed: int = 0
    drifted: int = 0
    drifts: list[Drift] = field(default_factory=list)
    unknown_items: int = 0
    unknown_subitems: int = 0
    unknown_samples: list[dict[str, Any]] = field(default_factory=list)
    missing_items: list[MissingRow] = field(default_factory=list)
    missing_subitems: list[MissingRow] = field(default_factory=list)

    def add(self, recorded: Recorded) -> None:
        self.items_read += recorded.items_read
        self.subitems_read += recorded.subitems_read
        self.values_changed += recorded.values_changed
        self.drifted += len(recorded.drifts)
        self.drifts.extend(recorded.drifts[: REPORT_SAMPLES - len(self.drifts)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "subitems_board_id": self.subitems_board_id,
            "paging": self.paging,
            "pages": self.pages,
            "requests": self.requests,
            "cursor_restarts": self.restarts,
            "items_read": self.items_read,
            "subitems_read": self.subitems_read,
            "values_changed": self.values_changed,
            "drifted_columns": self.drifted,
            "drifts": [d.as_dict() for d in self.drifts],
            "unknown_items": self.unknown_items,
            "unknown_subitems": self.unknown_subitems,
            "unknown_samples": self.unknown_samples,
            "missing_policy": self.policy,
            "missing_items": len(self.missing_items),
            "missing_subitems": len(self.missing_subitems),
            "missing_samples": [
                m.as_dict() for m in [*self.missing_items, *self.missing_subitems][:REPORT_SAMPLES]
            ],
        }


def pull_board(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    *,
    mode: str | None = None,
    board_id: int | None = None,
    progress: PullProgress | None = None,
    wait: float = 0.0,
    clock: Clock | None = None,
) -> PullReport:
    """Read the board's monday-owned values (and drift) into the database.

    Args:
        db: ordersync's database.
        config: the mapping (owned columns, ``[pull]`` settings).
        client: the monday client.
        mode: the board set (default ``config.default_mode``); ignored when ``board_id``
            is given.
        board_id: the items board to pull.
        progress: called after every page with the phase and the rows read so far.
        wait: seconds to wait for a board another run holds (polling on ``clock``).
        clock: sleeps while waiting (default: the system clock).

    Raises:
        LockedError: a sync (or another pull) holds the board.
        MondayError: monday failed in a way retries did not fix (nothing is lost: every
            page recorded so far is committed, and the next pull goes on from there).
    """
    board_id = board_id or config.board_id(mode)
    before, started = client.stats.requests, utcnow()
    board = BoardContext.load(client, config, board_id)
    with board_lock(
        db.engine, db.tables.locks, board_id, purpose="pull", wait=wait, clock=clock
    ) as lock:
        puller = _Puller(db, config, client, board, lock, progress)
        report = puller.run()
    report.requests = client.stats.requests - before
    record = partial(record_pull_run, db, report, started)  # readable on the dashboard
    retry_transient(record, db.engine, "recording the pull", clock=clock)
    return report


class _Puller:
    """One pull of one board."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board: BoardContext,
        lock: BoardLock,
        progress: PullProgress | None,
    ) -> None:
        self.db, self.config, self.client, self.lock = db, config, client, lock
        self.board_id = board.board_id
        self.subitems_board_id = board.subitems_board.id
        self.progress = progress or (lambda phase, done: None)
        self.started = utcnow()
        self.recorder = ValueRecorder(db, config, self.board_id, Source.PULL, since=self.started)
        self.unknown_seen: set[int] = set()
        self.report = PullReport(
            self.board_id,
            self.subitems_board_id,
            config.pull.missing_item_policy,
            config.pull.subitems,
        )

    def run(self) -> PullReport:
        if self.config.pull.subitems == "nested":
            try:
                self._pass(self.board_id, "items", nested=True)
                self._finish()
                return self.report
            except _TooComplex:
                self.report.paging = "separate"
        self._pass(self.board_id, "items", nested=False)
        self._pass(self.subitems_board_id, "subitems", nested=False)
        self._finish()
        return self.report

    # ------------------------------------------------------------------ reading
    def _pass(self, board_id: int, phase: str, *, nested: bool) -> None:
        """Read every page of one board, recording each page as it arrives."""
        for items in self._pages(board_id, phase, nested):
            rows = [*items, *(sub for item in items for sub in item.subitems)]
            self.lock.refresh()  # raises if another run took the board over: write nothing
            recorded = self._retried(partial(self._record, rows), f"recording a page of {phase}")
            self.report.pages += 1
            self.report.add(recorded)
            self._note_unknown(recorded)
            read = self.report.subitems_read if phase == "subitems" else self.report.items_read
            self.progress(phase, read)

    def _record(self, rows: list[Item]) -> Recorded:
        """One page in its own transaction: repeated whole after a transient failure (a
        commit that landed unseen is the checkpoint: its rows are skipped)."""
        with self.db.engine.begin() as connection:
            return self.recorder.record(connection, rows, utcnow())

    def _retried(self, work: Callable[[], T], what: str) -> T:
        return retry_transient(work, self.db.engine, what, clock=self.lock.clock)

    def _pages(self, board_id: int, phase: str, nested: bool) -> Iterator[list[Item]]:
        """Pages of a board; an expired cursor restarts from the first page (checkpoint:
        what is already recorded is skipped by the recorder); a nested page too complex for
        monday raises ``_TooComplex`` (the pull pages the subitems board instead)."""
        items, subitems = item_columns(self.config).ids, subitem_columns(self.config).ids
        restarts = 0
        while True:
            try:
                yield from iter_pages(
                    self.client.execute,
                    board_id,
                    column_ids=subitems if phase == "subitems" else items,
                    page_size=self.config.pull.page_size,
                    with_subitems=nested,
                    subitem_column_ids=subitems if nested else None,
                    halve=False,
                )
                return
            except PermanentMondayError as error:
                if nested and error.code in QUERY_TOO_COMPLEX:
                    raise _TooComplex from error
                if error.code not in CURSOR_ERRORS or restarts >= MAX_RESTARTS:
                    raise
                restarts += 1
                self.report.restarts += 1

    def _note_unknown(self, recorded: Recorded) -> None:
        """Items and subitems on the board that the mirror does not know (made by hand)."""
        for item in [*recorded.unknown_items, *recorded.unknown_subitems]:
            if item.id in self.unknown_seen:
                continue  # read again after a cursor restart
            self.unknown_seen.add(item.id)
            if item.parent_id is None:
                self.report.unknown_items += 1
            else:
                self.report.unknown_subitems += 1
            if len(self.report.unknown_samples) < REPORT_SAMPLES:
                self.report.unknown_samples.append(
                    {"monday_id": item.id, "name": item.name, "parent_id": item.parent_id}
                )

    # ------------------------------------------------------------------ after the pass
    def _finish(self) -> None:
        """Mirror rows not read in this pull: look them up, apply the policy, report."""
        items = self._unread(subitems=False)
        subitems = outside_lines(self._unread(subitems=True), items)  # not asked of monday
        if not items and not subitems:
            return
        states = self._states([row.monday_id for row in (*items, *subitems)])
        self.lock.refresh()

        def record() -> None:
            with self.db.engine.begin() as connection:
                self.report.missing_items, self.report.missing_subitems = settle_missing(
                    connection,
                    self.db,
                    self.board_id,
                    [row.with_state(states) for row in items],
                    [row.with_state(states) for row in subitems],
                    policy=self.config.pull.missing_item_policy,
                    source=Source.PULL,
                    now=utcnow(),
                )

        self._retried(record, "recording missing items")

    def _unread(self, *, subitems: bool) -> list[MissingRow]:
        """Active mirror rows of the board that this pull did not read."""
        tables = self.db.tables
        table = tables.subitems if subitems else tables.items
        id_column = table.c.monday_subitem_id if subitems else table.c.monday_item_id
        size = table.c.size_label if subitems else sa.null().label("size_label")
        with self.db.engine.connect() as connection:
            rows = connection.execute(
                sa.select(id_column.label("monday_id"), table.c.order_key, size)
                .where(
                    table.c.board_id == self.board_id,
                    table.c.state == MirrorState.ACTIVE,
                    sa.or_(table.c.pulled_at.is_(None), table.c.pulled_at < self.started),
                )
                .order_by(table.c.order_key)
            ).all()
        return [MissingRow(r.monday_id, r.order_key, r.size_label, "unknown") for r in rows]

    def _states(self, ids: Sequence[int]) -> dict[int, str]:
        """monday's state of each id: archived, deleted, or active elsewhere (absent: deleted)."""
        found = self.client.get_items(list(ids), column_ids=[], include_archived=True)
        return {item.id: item.state for item in found}
