"""The error tree of ordersync: every failure a caller can act on has one class here.

::

    OrderSyncError
    ├── ConfigError               bad configuration or arguments (exit code 2)
    ├── SourceError               the source table cannot be read as configured
    ├── LockedError               another run holds the board's delivery lock
    ├── DatabaseUnavailableError  the database kept failing transiently: the run stops,
    │                             resumable (``ordersync.db.retry``)
    ├── MondayError(code, request_id, http_status)
    │   ├── RetryableMondayError(retry_after)   429s, 423, 5xx, timeouts, lost connections
    │   │   ├── LimitReachedError(resets_at)     daily call limit, 10,000 items per board:
    │   │   │                                    not retried, the run stops resumable
    │   │   └── MondayUnreachableError           connection refused: fails fast
    │   ├── PermanentMondayError                 everything else; never retried
    │   │   └── AuthError                        the token is missing, wrong or not allowed
    └── RowRejected(code, message)  one bad row: recorded in the ERR tables, never raised
                                    through a batch

monday answers are classified into these exactly once, in ``ordersync.monday.classify``.
No message here ever contains the API token. ``ExitCode`` is what a command's outcome or
error becomes for the shell and a scheduler (docs/scheduling.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of every command (made only from these)."""

    OK = 0
    FAILED = 1  # failed: retry later (a sync's batch resumes); check-board: problems found
    USAGE = 2  # usage or configuration error: nothing was done; retrying will not help
    REJECTED = 3  # completed with rejected rows (check-board: warnings; webhooks: some refused)

    @classmethod
    def worst(cls, codes: Iterable[int]) -> ExitCode:
        """The worst of several outcomes: FAILED, then USAGE, then REJECTED, else OK."""
        found = set(codes)
        for code in (cls.FAILED, cls.USAGE, cls.REJECTED):
            if code in found:
                return code
        return cls.OK


class OrderSyncError(Exception):
    """Base class of every error ordersync raises on purpose."""


class ConfigError(OrderSyncError):
    """The configuration, an argument or the environment is unusable; nothing was done."""


class SourceError(OrderSyncError):
    """The source table is missing or does not have the configured columns."""


class LockedError(OrderSyncError):
    """Another ordersync run is delivering to the same board."""


class DatabaseUnavailableError(OrderSyncError):
    """The database failed transiently (connection lost, server restarting, deadlocks) more
    times than a run retries: the run stops; what was committed stays, the batch is resumable.

    Attributes:
        what: the work that failed (``"delivering batch …"``).
        reason: the driver's message, first line.
        attempts: how many times the work was tried.
    """

    def __init__(self, what: str, reason: str, attempts: int) -> None:
        super().__init__(
            f"the database failed while {what}, {attempts} times in a row ({reason}); "
            "what was committed is kept"
        )
        self.what, self.reason, self.attempts = what, reason, attempts


class MondayError(OrderSyncError):
    """An answer from monday.com that is not a success.

    Attributes:
        code: monday's error code (``extensions.code`` or legacy ``error_code``), or a
            transport-level code such as ``TIMEOUT``.
        request_id: monday's request id when the answer carried one.
        http_status: the HTTP status of the answer, ``None`` when no answer arrived.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNKNOWN",
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        return f"{self.code}{status}: {self.message}"


class RetryableMondayError(MondayError):
    """A failure worth retrying: rate limits, locks, server errors, lost answers.

    Attributes:
        retry_after: seconds monday asked us to wait, when it said.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class LimitReachedError(RetryableMondayError):
    """A monday limit that retrying now cannot pass: the run stops at once, the batch stays
    resumable, and the same command finishes it once the limit allows.

    Raised for ``DAILY_LIMIT_EXCEEDED`` (the daily call limit, reset at 00:00 UTC) and
    ``ItemsLimitationException`` (a board holds at most 10,000 items).

    Attributes:
        resets_at: when the limit resets (UTC), ``None`` when it does not reset by itself.
    """

    def __init__(
        self, message: str, *, resets_at: datetime | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.resets_at = resets_at


class MondayUnreachableError(RetryableMondayError):
    """monday's API could not be reached at all (connection refused, unknown host): nothing
    was sent, so nothing can have been applied; the batch stays resumable."""


class PermanentMondayError(MondayError):
    """A failure that the same request will meet again: invalid values, unknown ids."""


class AuthError(PermanentMondayError):
    """The API token is missing, invalid or lacks permission."""


class RowRejected(OrderSyncError):
    """One source row cannot be delivered; recorded with a reason, the batch goes on.

    Attributes:
        code: a stable error code such as ``MISSING_KEY`` or ``INVALID_NUMBER``.
        column: the source column at fault, when there is one.
    """

    def __init__(self, code: str, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.column = column
