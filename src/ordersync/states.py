"""Every state a batch, a staged row or a journal entry can be in, what a journal entry does,
and what a sync did when no batch tells it (one place for the words)."""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    """A batch moves left to right; the last three are ends."""

    STAGED = "STAGED"
    ITEMS_COMPLETED = "ITEMS_COMPLETED"
    SUBITEMS_COMPLETED = "SUBITEMS_COMPLETED"
    BATCH_COMPLETED = "BATCH_COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"


FINISHED_BATCH_STATUSES = frozenset(
    {BatchStatus.BATCH_COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS, BatchStatus.FAILED}
)
COMPLETED_BATCH_STATUSES = frozenset(
    {BatchStatus.BATCH_COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS}
)  # ended with everything sent (rows monday refused are in the ERR tables)


class SyncStatus(StrEnum):
    """What a sync (or one customer of a whole-book sync) did when no batch status tells it;
    otherwise its status is its batch's (``BatchStatus``)."""

    DRY_RUN = "DRY_RUN"
    NO_CHANGES = "NO_CHANGES"  # nothing to send: no batch was made
    REFUSED = "REFUSED"  # the plan was refused (it would archive too much of the scope)
    FAILED = "FAILED"  # a whole-book sync: this customer's run failed before its batch ended
    NOT_RUN = "NOT_RUN"  # a whole-book sync: stopped before this customer


class Action(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    MOVE = "MOVE"  # an item to the group its line now belongs to (items only)
    ARCHIVE = "ARCHIVE"


class RowStatus(StrEnum):
    """A staged row: PENDING until monday's answer says DONE or FAILED (ADOPTED: found there)."""

    PENDING = "PENDING"
    DONE = "DONE"
    ADOPTED = "ADOPTED"
    FAILED = "FAILED"


class JournalState(StrEnum):
    """A journalled request: SENDING until its answer is recorded (DONE); FAILED when monday
    refused it unprocessed and its rows moved to a fresh key (``journal.reopen_entry``)."""

    SENDING = "SENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class JournalKind(StrEnum):
    """What a journalled request does: one kind of row's work (``push.rows``)."""

    CREATE_ITEMS = "CREATE_ITEMS"
    UPDATE_ITEMS = "UPDATE_ITEMS"
    MOVE_ITEMS = "MOVE_ITEMS"
    ARCHIVE_ITEMS = "ARCHIVE_ITEMS"
    CREATE_SUBITEMS = "CREATE_SUBITEMS"
    UPDATE_SUBITEMS = "UPDATE_SUBITEMS"
    ARCHIVE_SUBITEMS = "ARCHIVE_SUBITEMS"


class BulkJobState(StrEnum):
    """An import job as the bulk journal knows it: STARTED (journalled, its file maybe not
    uploaded), UPLOADED, then SETTLED (monday's terminal state read, the board read back and
    its rows recorded) or ABANDONED (its upload URL expired before the file arrived)."""

    STARTED = "STARTED"
    UPLOADED = "UPLOADED"
    SETTLED = "SETTLED"
    ABANDONED = "ABANDONED"


OPEN_BULK_JOB_STATES = frozenset({BulkJobState.STARTED, BulkJobState.UPLOADED})


class MirrorState(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class EventState(StrEnum):
    """A received webhook event: PENDING until applied; QUARANTINED when it cannot be (why: in
    ``error``), so one bad event never holds up the others."""

    PENDING = "PENDING"
    APPLIED = "APPLIED"
    QUARANTINED = "QUARANTINED"


class Stage(StrEnum):
    """Where a row was rejected."""

    PLAN = "PLAN"
    DELIVER = "DELIVER"


class Source(StrEnum):
    """Where a value recorded in ``value_changes`` (or a pulled value) came from."""

    PULL = "pull"
    WEBHOOK = "webhook"
    DRIFT = "drift"
