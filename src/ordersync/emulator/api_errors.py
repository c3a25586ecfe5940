"""monday's error answers: the codes the emulator raises and the JSON bodies that carry them.

Application errors (a bad column value, an unknown board or item) are raised by resolvers as
``MondayAPIError``; graphql-core turns each into one entry of ``errors`` with ``path`` naming
the failing alias, while sibling aliases keep their data (HTTP 200, partial data). Request-level
errors (auth, rate limits, idempotency conflicts) are whole answers built here.

Two body formats, as monday has had both:

* current (API 2025-01 and later): ``{"data": ..., "errors": [{"message", "locations", "path",
  "extensions": {"code", "status_code", "error_data", ...}}]}``;
* legacy (before 2024-10): ``error_code``, ``error_message``, ``error_data`` and
  ``status_code`` at the top level (plus ``data``, as monday has sent since 2024-07).

Sources (``../shared/monday/FACTS.md`` "Errors", "Limits"; developer.monday.com): "Error
handling" (format, partial data, Retry-After, request_id), "Rate limits" and its changelogs
(COMPLEXITY_BUDGET_EXHAUSTED with ``retry_in_seconds`` since 2025-07; the legacy
ComplexityException text; ``REQUEST_MAX_COMPLEXITY_EXCEEDED`` for a query over 5M since
2025-10), the ColumnValueException ``column_type`` changelog, and "Idempotency" (409 for a
concurrent duplicate). Every rate-limit error carries ``retry_in_seconds`` (FACTS.md), in
``extensions`` except ``FIELD_LIMIT_EXCEEDED``, which keeps the old ``error_data`` place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLUMN_VALUE = "ColumnValueException"
JSON_PARSE = "JsonParseException"
INVALID_COLUMN = "InvalidColumnIdException"
INVALID_BOARD = "InvalidBoardIdException"
INVALID_ARGUMENT = "InvalidArgumentException"
ITEM_NAME_TOO_LONG = "ItemNameTooLongException"
RESOURCE_NOT_FOUND = "ResourceNotFoundException"
CURSOR_EXPIRED = "CursorExpiredError"
CURSOR_INVALID = "CursorException"
MAX_COMPLEXITY = "REQUEST_MAX_COMPLEXITY_EXCEEDED"
LEGACY_COMPLEXITY = "ComplexityException"
COMPLEXITY_BUDGET = "COMPLEXITY_BUDGET_EXHAUSTED"
RATE_LIMIT = "RATE_LIMIT_EXCEEDED"
DAILY_LIMIT = "DAILY_LIMIT_EXCEEDED"
CONCURRENCY = "maxConcurrencyExceeded"
IP_RATE_LIMIT = "IP_RATE_LIMIT_EXCEEDED"
FIELD_LIMIT = "FIELD_LIMIT_EXCEEDED"
ITEMS_LIMIT = "ItemsLimitationException"
UNAUTHORIZED = "USER_UNAUTHORIZED"
IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
BAD_REQUEST = "BAD_REQUEST"
API_VERSION_REQUIRED = "API_VERSION_REQUIRED"
INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"
RESOURCE_LOCKED = "RESOURCE_LOCKED"

ACCOUNT_ID = 31_415_926


class MondayAPIError(Exception):
    """An application error for one root field (one alias); the rest of the request goes on.

    Attributes:
        code: monday's ``extensions.code``.
        status_code: the ``extensions.status_code`` monday reports (the HTTP status stays 200).
        error_data: monday's ``extensions.error_data``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = 200,
        error_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.error_data = error_data or {}

    @property
    def extensions(self) -> dict[str, Any]:
        """What graphql-core copies into the error's ``extensions``."""
        return {"code": self.code, "status_code": self.status_code, "error_data": self.error_data}


def invalid_board(board_id: str) -> MondayAPIError:
    return MondayAPIError(
        INVALID_BOARD,
        "The board does not exist. Please check your board ID and try again",
        error_data={"board_id": board_id},
    )


def item_not_found(item_id: str | None) -> MondayAPIError:
    return MondayAPIError(
        RESOURCE_NOT_FOUND,
        f"Item with id {item_id} was not found",
        status_code=404,
        error_data={"item_id": item_id, "resource_type": "item"},
    )


def invalid_column(column_id: str, board_id: str) -> MondayAPIError:
    return MondayAPIError(
        INVALID_COLUMN,
        "This column ID doesn't exist for the board",
        error_data={"column_id": column_id, "board_id": board_id},
    )


def invalid_argument(message: str, **error_data: Any) -> MondayAPIError:
    return MondayAPIError(INVALID_ARGUMENT, message, error_data=error_data)


@dataclass
class HttpAnswer:
    """A whole HTTP answer: status, JSON body (or raw text) and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def request_error(
    status: int,
    code: str,
    message: str,
    *,
    legacy: bool,
    retry_in_seconds: int | None = None,
    error_data: dict[str, Any] | None = None,
    status_in_extensions: bool = True,
) -> HttpAnswer:
    """A request-level error (nothing was executed), in the current or the legacy format."""
    # FIELD_LIMIT_EXCEEDED keeps its old shape: the wait only in error_data, no header.
    timed = retry_in_seconds is not None and code != FIELD_LIMIT
    headers = {"Retry-After": str(retry_in_seconds)} if timed else {}
    if legacy:
        body: dict[str, Any] = {
            "error_code": code,
            "error_message": message,
            "error_data": dict(error_data or {}),
            "status_code": status,
            "account_id": ACCOUNT_ID,
        }
        if retry_in_seconds is not None:
            body["error_data"]["retry_in_seconds"] = retry_in_seconds
        return HttpAnswer(status, body, headers)
    extensions: dict[str, Any] = {"code": code}
    if retry_in_seconds is not None and code == FIELD_LIMIT:
        error_data = {**(error_data or {}), "retry_in_seconds": retry_in_seconds}
    elif retry_in_seconds is not None:
        extensions["retry_in_seconds"] = retry_in_seconds
    if status_in_extensions:
        extensions["status_code"] = status
    if error_data:
        extensions["error_data"] = error_data
    body = {"errors": [{"message": message, "extensions": extensions}], "account_id": ACCOUNT_ID}
    return HttpAnswer(status, body, headers)


def complexity_exhausted(
    retry_in_seconds: int, *, legacy: bool, cost: int, remaining: int, budget: int
) -> HttpAnswer:
    """HTTP 429 for a spent per-minute budget (2025-07 format, or the legacy text)."""
    if legacy:
        message = (
            f"Complexity budget exhausted, query cost {cost} budget remaining {remaining} "
            f"out of {budget} reset in {retry_in_seconds} seconds"
        )
        answer = request_error(429, LEGACY_COMPLEXITY, message, legacy=True)
        answer.body["errors"] = [message]
        answer.headers["Retry-After"] = str(retry_in_seconds)
        return answer
    return request_error(
        429,
        COMPLEXITY_BUDGET,
        "Complexity budget exhausted",
        legacy=False,
        retry_in_seconds=retry_in_seconds,
        status_in_extensions=False,
    )


def to_legacy(body: dict[str, Any]) -> dict[str, Any]:
    """Move the first application error of a current-format body to legacy top-level keys.

    GraphQL validation errors keep their ``errors`` list, as monday's legacy answers did.
    """
    errors = body.get("errors") or []
    first = errors[0] if errors else None
    extensions = (first or {}).get("extensions") or {}
    if first is None or extensions.get("code") in (VALIDATION_FAILED, PARSE_FAILED, None):
        return body
    legacy = {key: value for key, value in body.items() if key != "errors"}
    legacy.update(
        error_code=extensions["code"],
        error_message=first["message"],
        error_data=extensions.get("error_data", {}),
        status_code=extensions.get("status_code", 200),
    )
    return legacy


def alias_errors(
    aliases: list[str], code: str, message: str, *, status_code: int = 200
) -> HttpAnswer:
    """HTTP 200 where every alias failed with ``code`` (nothing applied), e.g. a full board."""
    return HttpAnswer(
        200,
        {
            "data": {alias: None for alias in aliases},
            "errors": [
                {
                    "message": message,
                    "path": [alias],
                    "extensions": {"code": code, "status_code": status_code, "error_data": {}},
                }
                for alias in aliases
            ],
            "account_id": ACCOUNT_ID,
        },
    )


def without_alias_data(body: dict[str, Any]) -> dict[str, Any]:
    """The same answer as monday may send it when it keeps no per-alias results: ``data``
    null and errors that name no path (``Undocumented.alias_data_with_errors`` off)."""
    if not body.get("errors"):
        return body
    errors = []
    for entry in body["errors"]:
        stripped = dict(entry) if isinstance(entry, dict) else {"message": str(entry)}
        stripped.pop("path", None)
        stripped.pop("locations", None)
        errors.append(stripped)
    return {**body, "data": None, "errors": errors}
