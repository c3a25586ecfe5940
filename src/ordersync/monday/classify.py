"""The one boundary where monday's answers and transport failures become ordersync errors.

Classification looks only at the HTTP status, at ``errors[].extensions.code`` /
``extensions.status_code`` (API 2025-01 and later) and at the legacy top-level
``error_code`` / ``status_code`` fields; never at message text. The table, with its
sources (``../shared/monday/FACTS.md`` "Errors", "Limits", "Idempotency-Key"; monday's
``docs/error-handling``, ``docs/rate-limits``, ``docs/idempotency`` and the changelog entries
on complexity errors; docs/monday-errors.md says what the client does with each):

Stop the run, resumable (``LimitReachedError``, never retried: a retry costs a call and
cannot pass):
  - ``DAILY_LIMIT_EXCEEDED`` whatever its status (undocumented): ``resets_at`` is the next
    00:00 UTC;
  - ``ItemsLimitationException`` / ``BOARD_CAPACITY_EXCEEDED``: the board holds 10,000 items.
Retryable (``RetryableMondayError``):
  - HTTP 429 whatever the code: ``COMPLEXITY_BUDGET_EXHAUSTED``, ``RATE_LIMIT_EXCEEDED`` /
    "Rate Limit Exceeded", ``maxConcurrencyExceeded``, ``IP_RATE_LIMIT_EXCEEDED``,
    ``FIELD_LIMIT_EXCEEDED`` (and those codes, or a reported ``status_code`` 429, at 200);
  - HTTP 423 (board locked) and HTTP 5xx;
  - ``API_TEMPORARILY_BLOCKED`` (HTTP 200);
  - HTTP 409 with ``Retry-After`` whatever its code or body (``IDEMPOTENCY_CONFLICT``: the
    key's first request still runs), and a 200 ``IDEMPOTENCY_CONFLICT`` with a wait;
  - ``ComplexityException`` (legacy) with a reset time: the budget is spent;
  - transport failures (timeouts, lost connections); a refused connection is
    ``MondayUnreachableError`` (nothing was sent; the client gives up after two quick tries).
Auth (``AuthError``): HTTP 401/403 (or that ``status_code`` reported), ``USER_UNAUTHORIZED``,
  ``UserUnauthorizedException``, ``USER_ACCESS_DENIED``, ``missingRequiredPermissions``.
Permanent (``PermanentMondayError``): everything else, unknown codes included:
  ``ColumnValueException``, ``InvalidBoardIdException``, ``ItemNameTooLongException``, HTTP
  400, GraphQL validation errors, 409 without ``Retry-After`` (a key reused for a different
  request), a query over 5M points (``QUERY_TOO_COMPLEX``: the three spellings monday has used;
  readers shrink the page instead).

Bulk import jobs (``classify_job_failure``: a job's ``failure_reason``, FACTS.md "Bulk
import"): ``BOARD_CAPACITY_EXCEEDED``, ``ACCOUNT_CAPACITY_EXCEEDED`` (the 19,000 items an hour
ingest budget) and ``PERMISSION_DENIED`` / ``AUTHORIZATION_FAILED`` (backfill needs an
account admin) stop the batch resumable (``LimitReachedError``); ``INVALID_UPLOAD``,
``FILE_TOO_LARGE``, ``INTERNAL_ERROR`` and unknown reasons are permanent for that job. The
100 job starts an hour answer 429 ``RATE_LIMIT_EXCEEDED`` with ``extensions.retryAfterMs``.

``retry_after`` comes from ``extensions.retry_in_seconds``, ``extensions.retryAfterMs``
(bulk job starts, in milliseconds), the legacy
``error_data.retry_in_seconds``, the ``Retry-After`` header (seconds or an HTTP date), or
the legacy ``ComplexityException`` message ("reset in N seconds"), in that order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ordersync.errors import (
    AuthError,
    LimitReachedError,
    MondayError,
    MondayUnreachableError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday.models import AliasResult

__all__ = [
    "AUTH_CODES",
    "BOARD_FULL_CODES",
    "DAILY_LIMIT",
    "JOB_STOP_REASONS",
    "QUERY_TOO_COMPLEX",
    "RETRYABLE_CODES",
    "RETRYABLE_WHEN_TIMED",
    "alias_results",
    "classify",
    "classify_error",
    "classify_job_failure",
    "from_transport_error",
    "may_have_applied",
    "most_severe",
    "request_id_of",
    "retry_after_from_header",
]

RETRYABLE_CODES = frozenset(
    {
        "COMPLEXITY_BUDGET_EXHAUSTED",
        "RATE_LIMIT_EXCEEDED",
        "Rate Limit Exceeded",
        "Minute limit rate exceeded",
        "maxConcurrencyExceeded",
        "Concurrency limit exceeded",
        "IP_RATE_LIMIT_EXCEEDED",
        "FIELD_LIMIT_EXCEEDED",
        "API_TEMPORARILY_BLOCKED",
        "INTERNAL_SERVER_ERROR",
    }
)
"""Codes that mean "try again later" whatever HTTP status carried them."""

COMPLEXITY_EXCEPTION = "ComplexityException"
IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
RETRYABLE_WHEN_TIMED = frozenset({COMPLEXITY_EXCEPTION, IDEMPOTENCY_CONFLICT})
"""Codes that are retryable only when monday says when: a ``ComplexityException`` with a
reset time (a spent budget, not a query over 5M), an ``IDEMPOTENCY_CONFLICT`` with
``Retry-After`` (the first request with the key is still running, not a key reused for a
different request)."""

QUERY_TOO_COMPLEX = frozenset(
    {"REQUEST_MAX_COMPLEXITY_EXCEEDED", "maxComplexityExceeded", "ComplexityException"}
)
"""Codes of a query refused for costing more than monday's per-query cap (5M points): today's
``REQUEST_MAX_COMPLEXITY_EXCEEDED`` and the older spellings (FACTS.md "Limits"). A
``ComplexityException`` with a reset time is a spent budget instead (retryable)."""

DAILY_LIMIT = "DAILY_LIMIT_EXCEEDED"
BOARD_FULL_CODES = frozenset({"ItemsLimitationException", "BOARD_CAPACITY_EXCEEDED"})
"""Codes of a board that holds monday's 10,000 items already."""
ITEMS_PER_BOARD = 10_000

AUTH_CODES = frozenset(
    {
        "USER_UNAUTHORIZED",
        "UserUnauthorizedException",
        "USER_ACCESS_DENIED",
        "Unauthorized",
        "UNAUTHORIZED",
        "Not Authenticated",
        "missingRequiredPermissions",
    }
)
"""Codes that mean the token is missing, wrong or not allowed."""

_RETRYABLE_STATUSES = frozenset({423, 429})
_AUTH_STATUSES = frozenset({401, 403})
_LEGACY_RESET = re.compile(r"reset in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def retry_after_from_header(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return max(0.0, float(value))
    if isinstance(value, str):
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _retry_after(entry: Mapping[str, Any], headers: Mapping[str, str]) -> float | None:
    extensions = _mapping(entry.get("extensions"))
    for candidate in (
        extensions.get("retry_in_seconds"),
        entry.get("retry_in_seconds"),
        _mapping(extensions.get("error_data")).get("retry_in_seconds"),
        _mapping(entry.get("error_data")).get("retry_in_seconds"),
    ):
        seconds = _number(candidate)
        if seconds is not None:
            return seconds
    milliseconds = _number(extensions.get("retryAfterMs"))
    if milliseconds is not None:
        return milliseconds / 1000
    from_header = retry_after_from_header(headers)
    if from_header is not None:
        return from_header
    if COMPLEXITY_EXCEPTION in (entry.get("error_code"), extensions.get("code")):
        # The legacy ComplexityException gives its reset time only inside its message.
        match = _LEGACY_RESET.search(str(entry.get("error_message") or entry.get("message")))
        if match:
            return float(match.group(1))
    return None


def _daily_reset() -> datetime:
    """When the daily call limit resets: the next 00:00 UTC (monday's rate-limit docs)."""
    now = datetime.now(UTC)
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)


def _build(
    *,
    code: str,
    status: int | None,
    http_status: int | None,
    message: str,
    request_id: str | None,
    retry_after: float | None,
) -> MondayError:
    """Pick the class for a code and a status (the answer's, or the one monday reports)."""
    kwargs: dict[str, Any] = {"code": code, "request_id": request_id, "http_status": http_status}
    if code in AUTH_CODES or status in _AUTH_STATUSES:
        return AuthError(message, **kwargs)
    if code == DAILY_LIMIT:
        resets_at = _daily_reset()
        return LimitReachedError(
            f"monday's daily API call limit is reached ({message}); it resets at 00:00 UTC "
            f"({resets_at:%Y-%m-%d %H:%M} UTC)",
            resets_at=resets_at,
            retry_after=retry_after,
            **kwargs,
        )
    if code in BOARD_FULL_CODES:
        return LimitReachedError(
            f"the board is full: monday allows {ITEMS_PER_BOARD:,} items per board ({message}); "
            "archive or delete items on it, or move to another board",
            **kwargs,
        )
    retryable = (
        code in RETRYABLE_CODES
        or status in _RETRYABLE_STATUSES
        or (status is not None and status >= 500)
        or (code in RETRYABLE_WHEN_TIMED and retry_after is not None)
        # monday's 409 says "the key's first request still runs" with Retry-After; whatever
        # code or body carries it, waiting and resending the same key is what it asks.
        or (status == 409 and retry_after is not None)
    )
    if retryable:
        return RetryableMondayError(message, retry_after=retry_after, **kwargs)
    return PermanentMondayError(message, **kwargs)


def classify_error(
    entry: Mapping[str, Any],
    *,
    http_status: int | None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> MondayError:
    """Classify one entry of a GraphQL ``errors`` list, or a legacy top-level error body.

    Args:
        entry: ``{"message", "path", "extensions": {"code", "status_code", ...}}`` or a
            legacy body ``{"error_code", "error_message", "status_code", "error_data"}``.
        http_status: the HTTP status of the answer that carried it.
        headers: the answer's headers (for ``Retry-After``).
        request_id: monday's request id for the whole answer, if known.

    Returns:
        The matching ``MondayError`` subclass; never raises.
    """
    headers = headers or {}
    extensions = _mapping(entry.get("extensions"))
    code = extensions.get("code") or entry.get("error_code") or "UNKNOWN"
    reported = _int(extensions.get("status_code")) or _int(entry.get("status_code"))
    status = http_status if http_status is not None and http_status >= 300 else reported
    message = entry.get("message") or entry.get("error_message") or str(code)
    return _build(
        code=str(code),
        status=status,
        http_status=http_status,
        message=str(message),
        request_id=extensions.get("request_id") or request_id,
        retry_after=_retry_after(entry, headers),
    )


def _severity(error: MondayError) -> int:
    # One error in a list decides for the whole answer: a token problem first, then anything
    # that will fail again, then what may pass later.
    if isinstance(error, AuthError):
        return 0
    return 2 if error.retryable else 1


def most_severe(errors: list[MondayError]) -> MondayError:
    """The error that decides for an answer carrying several."""
    return min(errors, key=_severity)


def request_id_of(body: Any, headers: Mapping[str, str]) -> str | None:
    """monday's request id: ``extensions.request_id`` of the body, else a header."""
    extensions = _mapping(_mapping(body).get("extensions"))
    found = extensions.get("request_id") or _mapping(body).get("request_id")
    return str(found) if found else headers.get("x-request-id")


def classify(
    http_status: int, body: Any, headers: Mapping[str, str], *, strict: bool = False
) -> MondayError | None:
    """Classify a whole answer from monday.

    Returns ``None`` when the answer can be read field by field: a 2xx JSON body with a
    ``data`` key (even ``null``, even beside errors current or legacy: execution began, so
    the caller maps results by alias), or with errors of which some name a field. Anything
    else is a whole-request error: a non-2xx status, a body that is not JSON, or errors
    with no ``data`` key and no path, GraphQL's "failed before execution".

    Args:
        http_status: the HTTP status.
        body: the decoded JSON body, or ``None`` when it was not JSON.
        headers: the answer's headers.
        strict: any error at all makes a whole-request error (for reads, where partial
            data is of no use).

    Returns:
        The error for the whole request, or ``None``.
    """
    request_id = request_id_of(body, headers)
    body_map = _mapping(body)
    errors = body_map.get("errors")
    entries = [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    success = 200 <= http_status < 300
    legacy = bool(body_map.get("error_code") or body_map.get("error_message"))

    if success:
        # GraphQL leaves "data" out only when a request fails before execution; with "data"
        # present (even null) or an error naming a field, mutations may have been applied,
        # so the caller must read the answer alias by alias.
        executed = "data" in body_map or any(entry.get("path") for entry in entries)
        if executed and (not strict or not (legacy or entries)):
            return None

    if legacy:
        # Legacy format: the body itself is the error.
        return classify_error(
            body_map, http_status=http_status, headers=headers, request_id=request_id
        )
    if entries:
        classified = [
            classify_error(e, http_status=http_status, headers=headers, request_id=request_id)
            for e in entries
        ]
        return most_severe(classified)
    if success:
        return PermanentMondayError(
            "monday answered without data or errors",
            code="INVALID_RESPONSE",
            request_id=request_id,
            http_status=http_status,
        )
    return _build(
        code=f"HTTP_{http_status}",
        status=http_status,
        http_status=http_status,
        message=f"HTTP {http_status} from monday",
        request_id=request_id,
        retry_after=retry_after_from_header(headers),
    )


def alias_results(
    body: Mapping[str, Any],
    aliases: Sequence[str],
    *,
    http_status: int,
    headers: Mapping[str, str],
) -> dict[str, AliasResult]:
    """Map an answer to a multi-mutation request back to its aliases, by alias only.

    An alias with data is ``ok`` (even if a sub-field errored: the mutation happened). An
    alias without data but named by an error's ``path[0]`` is ``failed`` with that error
    classified. Any other alias is ``unknown``: monday does not promise per-alias results,
    so an answer with errors that name no alias (or with no data for it) says nothing about
    whether it was applied, and the caller must look it up.
    """
    data = _mapping(body.get("data"))
    errors = body.get("errors")
    entries = [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    request_id = request_id_of(body, headers)
    by_alias: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        path = entry.get("path")
        if isinstance(path, list) and path and path[0] in aliases:
            by_alias.setdefault(str(path[0]), entry)
    results: dict[str, AliasResult] = {}
    for alias in aliases:
        value = data.get(alias)
        if isinstance(value, Mapping):
            results[alias] = AliasResult(alias, "ok", data=dict(value))
        elif alias in by_alias:
            error = classify_error(
                by_alias[alias], http_status=http_status, headers=headers, request_id=request_id
            )
            results[alias] = AliasResult(alias, "failed", error=error)
        else:
            results[alias] = AliasResult(alias, "unknown")
    return results


_PERMANENT_TRANSPORT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def from_transport_error(exc: httpx.TransportError) -> MondayError:
    """Map an httpx transport failure to a ``MondayError`` (raise it ``from exc``).

    A refused connection becomes ``MondayUnreachableError`` (``UNREACHABLE``, naming the URL
    without its query). Timeouts become ``TIMEOUT`` and lost connections ``CONNECTION_LOST``
    (both retryable: the request may or may not have reached monday, and a retry with the same
    ``Idempotency-Key`` is safe). A malformed request on our side (unsupported URL scheme,
    local protocol error) is permanent, since it would fail the same way again.
    """
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        # Refused (or no such host): the request never left, so nothing can have applied.
        return MondayUnreachableError(
            f"monday is unreachable at {_where(exc)} ({exc or name})", code="UNREACHABLE"
        )
    if isinstance(exc, httpx.TimeoutException):
        return RetryableMondayError(f"request timed out ({name})", code="TIMEOUT")
    if isinstance(exc, _PERMANENT_TRANSPORT):
        return PermanentMondayError(f"request could not be sent ({name})", code="TRANSPORT_ERROR")
    return RetryableMondayError(f"connection lost ({name})", code="CONNECTION_LOST")


def _where(exc: httpx.TransportError) -> str:
    """The URL a transport error was about, without query or credentials."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised without its request
        return "the configured URL"
    return str(url.copy_with(query=None, fragment=None, userinfo=b""))


_MAYBE_APPLIED_CODES = frozenset({"TIMEOUT", "CONNECTION_LOST", "INTERNAL_SERVER_ERROR"})


def may_have_applied(error: MondayError) -> bool:
    """Whether monday may have applied a request that failed with ``error``.

    A timeout, a lost connection or a server error can come after the mutations ran; 429s,
    423 and a 409 for a key still in flight are refusals before anything ran. Resending a
    create after the former relies on monday's idempotency cache alone, which keeps no
    answer over 1 MB or past its budget: delivery looks the rows up first.
    """
    return error.code in _MAYBE_APPLIED_CODES or (error.http_status or 0) >= 500


ACCOUNT_CAPACITY = "ACCOUNT_CAPACITY_EXCEEDED"
JOB_PERMISSION_REASONS = frozenset({"PERMISSION_DENIED", "AUTHORIZATION_FAILED"})
JOB_STOP_REASONS = frozenset({ACCOUNT_CAPACITY, *BOARD_FULL_CODES, *JOB_PERMISSION_REASONS})
"""Job failure reasons that stop the batch (resumable): retrying the same job cannot pass."""


def classify_job_failure(reason: str | None, message: str | None) -> MondayError:
    """The error for an import job that ended ``FAILED`` or ``REJECTED``.

    Args:
        reason: the job's ``failure_reason`` (``BulkImportFailureReason``), if any.
        message: the job's ``failure_message``.

    Returns:
        ``LimitReachedError`` for the reasons in ``JOB_STOP_REASONS`` (the batch stops,
        resumable), else ``PermanentMondayError`` (that job is over; its rows are free to go
        another way). The code is the reason.
    """
    code = reason or "UNKNOWN"
    told = f" ({message})" if message else ""
    if code in BOARD_FULL_CODES:
        return _build(
            code=code,
            status=None,
            http_status=None,
            message=message or code,
            request_id=None,
            retry_after=None,
        )
    if code == ACCOUNT_CAPACITY:
        return LimitReachedError(
            "the account's import budget is spent: monday allows 19,000 items an hour through "
            f"ingest jobs{told}; run again later, or with --backfill (an admin) or --bulk never",
            code=code,
        )
    if code in JOB_PERMISSION_REASONS:
        return LimitReachedError(
            f"monday refused the import job{told}: backfill_items needs an account admin's "
            "token; run without --backfill, or as an admin",
            code=code,
        )
    return PermanentMondayError(f"the import job failed: {code}{told}", code=code)
