"""Stage 2, ``deliver``: push a staged batch to monday exactly once and record every answer.

The protocol (DESIGN.md, "Delivery protocol"):

1. Requests left SENDING in the journal for this board (a crash, a lost answer) are resolved
   first: creates are looked up on monday and what exists is adopted; only a request none of
   whose rows is found is resent with the same ``Idempotency-Key`` (while monday may still
   cache it). A create whose answer is lost mid-run (timeout, lost connection, 5xx) is
   settled the same way, never resent blindly: monday's cache is not a guarantee.
2. Missing groups are created once. Items go in aliased chunks (creates, updates, moves to
   another group, archives); before each chunk of creates, items the board already holds
   under the same key are adopted instead of created, and what differs on them is staged.
3. Each request is journalled (SENDING, committed) before it is sent. Its answer is recorded
   in one transaction: each alias's result on its staged row, successes promoted into the
   mirror, failures written to the ERR table, the journal entry closed. Results are mapped by
   alias, never by position; an alias whose fate the answer does not tell is looked up.
4. Subitems follow under their parents' ids, the same way (``rows.py`` holds what differs).
   Large item creates go first through monday's import jobs with their subitems (``bulk/``:
   ``[delivery.bulk]``); jobs a crash left open are settled before anything is sent.
5. The batch moves STAGED → ITEMS_COMPLETED → SUBITEMS_COMPLETED → BATCH_COMPLETED (or
   COMPLETED_WITH_ERRORS); it is never completed before its subitems.

Retryable failures are retried inside the client with the same ``Idempotency-Key`` (after a
429 that monday did not process, under a fresh key journalled first: ``journal.reopen_entry``);
when retries run out the run stops with the batch resumable, and the next ``sync`` finishes
it. A limit no retry passes (``LimitReachedError``: the daily call limit, a board at 10,000
items) stops the run at once, whole request or one alias, with the batch resumable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from ordersync.batch_counters import Tally, total
from ordersync.batches import (
    BatchReport,
    add_counts,
    advance,
    batch_status,
    complete,
    load_report,
    note_error,
    request_usage,
)
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.engine import vacuum
from ordersync.errors import (
    LimitReachedError,
    MondayError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday import AliasResult, MondayClient
from ordersync.monday.classify import may_have_applied
from ordersync.push.board import BoardContext
from ordersync.push.bulk import BulkDelivery
from ordersync.push.journal import JournalEntry, close_entry, open_entries, open_entry, reopen_entry
from ordersync.push.rows import (
    ItemArchives,
    ItemCreates,
    ItemMoves,
    ItemUpdates,
    RowKind,
    SubitemArchives,
    SubitemCreates,
    SubitemUpdates,
)
from ordersync.states import BatchStatus, RowStatus

Progress = Callable[[str, int, int], None]  # (phase, done, total)

# monday replays an Idempotency-Key's first answer for 30 minutes; resend within 25.
IDEMPOTENCY_WINDOW = timedelta(minutes=25)
logger = logging.getLogger(__name__)


# A batch that wrote at least this many mirror rows (items and subitems created, updated,
# archived) is followed by a ``vacuum`` of the mirror tables. PostgreSQL: the next plan reads
# every mirror row of its scope. Right after a large delivery none of the new rows' commit hint
# bits are set, so that read writes nearly every page back (500,000 lines: 90,026 pages
# written; 21.9 s, against 15.6 s for the same read run again), and the statistics still
# describe the mirror as it was. VACUUM sets the bits (and the visibility map) and ANALYZE the
# statistics here, on the delivery's clock, whether autovacuum runs or not (it would, some
# time later).
MIRROR_REFRESH_ROWS = 10_000


def refresh_mirror(db: Database, batch_id: str | None = None) -> None:
    """Vacuum and analyse the mirror tables after a batch that wrote ``MIRROR_REFRESH_ROWS``
    rows into them, or (no ``batch_id``) now."""
    if batch_id is not None:
        report = load_report(db, batch_id)
        if report is None or total(report, Tally.DELIVERED, applied=True) < MIRROR_REFRESH_ROWS:
            return
    vacuum(db.engine, (db.tables.items, db.tables.subitems), "the batch is complete")


class Delivery:
    """Delivers batches of one board through one client."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board: BoardContext,
        *,
        progress: Progress | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.db, self.config, self.client, self.board = db, config, client, board
        self.progress = progress or (lambda phase, done, total: None)
        self.heartbeat = heartbeat or (lambda: None)  # keeps the board lock fresh
        self._unanswered = 0  # requests in a row whose answer was lost (bounded like retries)
        parts = (db, config, client, board)
        self.item_creates, self.subitem_creates = ItemCreates(*parts), SubitemCreates(*parts)
        self.item_kinds: list[RowKind] = [
            self.item_creates,
            ItemUpdates(*parts),
            ItemMoves(*parts),
            ItemArchives(*parts),
        ]
        self.subitem_kinds: list[RowKind] = [
            self.subitem_creates,
            SubitemUpdates(*parts),
            SubitemArchives(*parts),
        ]
        self.bulk = BulkDelivery(
            *parts,
            self.item_creates,
            self.subitem_creates,
            progress=self.progress,
            heartbeat=self.heartbeat,
            send_rows=self.send_rows,
        )
        self.kinds: dict[str, RowKind] = {
            kind.journal_kind: kind for kind in [*self.item_kinds, *self.subitem_kinds]
        }

    # ----------------------------------------------------------------------------- batch
    def deliver(self, batch_id: str) -> BatchReport:
        """Deliver (or finish delivering) one batch; returns its record."""
        before = request_usage(self.client.stats)
        try:
            self.resolve_open_requests()
            self.bulk.resolve_open_jobs()
            status = batch_status(self.db, batch_id)
            if status == BatchStatus.STAGED:
                self.item_creates.ensure_groups(batch_id)
                self.bulk.deliver(batch_id)
                for kind in self.item_kinds:
                    self._deliver_rows(kind, batch_id)
                advance(self.db, batch_id, BatchStatus.ITEMS_COMPLETED)
                status = BatchStatus.ITEMS_COMPLETED
            if status == BatchStatus.ITEMS_COMPLETED:
                self.subitem_creates.fail_orphans(batch_id)
                for kind in self.subitem_kinds:
                    self._deliver_rows(kind, batch_id)
                advance(self.db, batch_id, BatchStatus.SUBITEMS_COMPLETED)
                status = BatchStatus.SUBITEMS_COMPLETED
            if status == BatchStatus.SUBITEMS_COMPLETED:
                complete(self.db, batch_id)
                refresh_mirror(self.db, batch_id)
        except MondayError as error:  # retryable: resumable; permanent (e.g. auth): FAILED
            note_error(self.db, batch_id, str(error), permanent=not error.retryable)
            raise
        finally:
            used = {n: v - before[n] for n, v in request_usage(self.client.stats).items()}
            with self.db.engine.begin() as connection:
                add_counts(connection, self.db.tables, batch_id, used)
        report = load_report(self.db, batch_id)
        assert report is not None
        return report

    # ----------------------------------------------------------------------------- rows
    def _deliver_rows(self, kind: RowKind, batch_id: str) -> None:
        """Adopt, screen and send the batch's pending rows of one kind, chunk by chunk."""
        total = kind.count_pending(batch_id)
        while rows := kind.pending(batch_id):
            rows = kind.adopt(batch_id, rows, before_create=True)
            rows = kind.screen(batch_id, rows)
            if rows:
                self._send(kind, batch_id, kind.aliases(rows))
            self.progress(kind.phase, total - kind.count_pending(batch_id), total)

    def send_rows(self, kind: RowKind, batch_id: str, rows: list[sa.Row]) -> None:
        """Adopt, screen and send these rows of one kind now, chunk by chunk (``bulk``: the
        lines whose labels must exist before an import file can name them)."""
        size = kind.per_request()
        for start in range(0, len(rows), size):
            chunk = kind.adopt(batch_id, rows[start : start + size], before_create=True)
            chunk = kind.screen(batch_id, chunk)
            if chunk:
                self._send(kind, batch_id, kind.aliases(chunk))

    def _send(
        self,
        kind: RowKind,
        batch_id: str,
        by_alias: dict[str, sa.Row],
        entry: JournalEntry | None = None,
    ) -> None:
        """Journal (unless resending ``entry``), send, and record every alias's result."""
        self.heartbeat()  # raises if another run took the board over: send nothing more
        resend = entry is not None
        if entry is None:
            aliases = {alias: row.stg_id for alias, row in by_alias.items()}
            entry = open_entry(self.db, batch_id, self.board.board_id, kind.journal_kind, aliases)
            kind.mark_sent(entry.request_id, list(aliases.values()))
        sent = [entry]  # the entry naming the key of the latest attempt

        def fresh_key() -> str:
            # Only for a first send: a resent key may have been applied before the crash.
            sent[0] = reopen_entry(self.db, sent[0], self.board.board_id)
            kind.mark_sent(sent[0].request_id, list(sent[0].aliases.values()))
            return sent[0].request_id

        mutations = [kind.mutation(alias, row) for alias, row in by_alias.items()]
        try:
            results = self.client.mutate(
                mutations,
                idempotency_key=entry.request_id,
                operation_name=kind.operation,
                fresh_key=None if resend else fresh_key,
                resend_if_maybe_applied=not kind.creates,
            )
        except RetryableMondayError as error:
            self._unanswered += 1
            retries = self.config.delivery.max_retries
            if not (kind.creates and may_have_applied(error)) or self._unanswered > retries:
                raise
            self._settle(kind, sent[0], by_alias)  # creates: look up before any resend
            return
        self._unanswered = 0
        unknown = []
        limit: LimitReachedError | None = None
        with self.db.engine.begin() as connection:
            succeeded = 0
            for alias, row in by_alias.items():
                result = results.get(alias) or AliasResult(alias, "unknown")
                if result.outcome == "ok" and result.data:
                    kind.record(connection, row, int(result.data["id"]), RowStatus.DONE)
                    succeeded += 1
                elif isinstance(result.error, LimitReachedError):
                    limit = limit or result.error  # the row stays PENDING; the run stops
                elif result.outcome == "failed" and result.error and not result.error.retryable:
                    kind.fail(connection, batch_id, row, result.error)
                elif result.outcome == "unknown":
                    unknown.append(row)
                # a failed alias with a retryable error stays PENDING and is sent again
            add_counts(connection, self.db.tables, batch_id, {kind.succeeded: succeeded})
            close_entry(connection, self.db, sent[0].request_id)
        if unknown:
            kind.adopt(batch_id, unknown, before_create=False)
        if limit is not None:
            raise limit

    def _settle(self, kind: RowKind, entry: JournalEntry, by_alias: dict[str, sa.Row]) -> None:
        """A request whose answer is unknown: look its rows up before anything is resent.

        Creates found on monday are adopted. Only when none of them is found, and monday may
        still cache the first answer, is the same request resent under the same key (monday
        replays it, or it never ran); otherwise the entry is closed and the rows not found
        stay PENDING, to be sent again under a new key. monday's idempotency cache is thus a
        second line of defence, never the only one. Updates and archives need no lookup:
        sending them twice changes nothing.
        """
        rows = list(by_alias.values())
        rest = kind.adopt(entry.batch_id, rows, before_create=False)
        fresh = utcnow() - entry.sent_at < IDEMPOTENCY_WINDOW
        if rest and len(rest) == len(rows) and fresh:
            try:
                self._send(kind, entry.batch_id, by_alias, entry)
                return
            except PermanentMondayError:
                pass  # e.g. monday kept the key for another body: the rows stay PENDING
        with self.db.engine.begin() as connection:
            close_entry(connection, self.db, entry.request_id, error="resolved by lookup")

    # ----------------------------------------------------------------------------- journal
    def resolve_open_requests(self) -> None:
        """Settle requests left SENDING (a crash, a lost answer) before anything else is sent:
        creates are looked up on monday first and what exists is adopted (see ``_settle``).
        """
        for entry in open_entries(self.db, self.board.board_id):
            kind = self.kinds[entry.kind]
            rows = {row.stg_id: row for row in kind.rows_by_id(list(entry.aliases.values()))}
            by_alias = {a: rows[i] for a, i in entry.aliases.items() if i in rows}
            self._settle(kind, entry, by_alias)
