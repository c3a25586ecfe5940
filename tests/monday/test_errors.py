"""Classification of monday's answers: every format, status and code, as one table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from ordersync.errors import (
    AuthError,
    LimitReachedError,
    MondayError,
    MondayUnreachableError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday.classify import (
    alias_results,
    classify,
    classify_error,
    from_transport_error,
    retry_after_from_header,
)


def current(code: str, *, path: list[str] | None = None, **extensions: Any) -> dict[str, Any]:
    """An error entry in the 2025+ format."""
    entry: dict[str, Any] = {"message": f"{code} happened", "extensions": {"code": code}}
    entry["extensions"].update(extensions)
    if path is not None:
        entry["path"] = path
    return entry


LEGACY_COMPLEXITY = {
    "error_code": "ComplexityException",
    "status_code": 429,
    "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 "
    "out of 1000000 reset in 3 seconds",
    "error_data": {},
    "errors": ["Complexity budget exhausted ... reset in 3 seconds"],
    "account_id": 1234567890,
}

# (id, status, body, headers, expected class, expected code, expected retry_after)
CASES: list[tuple[str, int, Any, dict[str, str], type[MondayError], str, float | None]] = [
    (
        "429 complexity budget 2025-07",
        429,
        {"errors": [current("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=17)]},
        {"Retry-After": "30"},
        RetryableMondayError,
        "COMPLEXITY_BUDGET_EXHAUSTED",
        17.0,
    ),
    (
        "429 complexity budget 2025-01 (status_code in extensions)",
        429,
        {"errors": [current("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=60, status_code=429)]},
        {},
        RetryableMondayError,
        "COMPLEXITY_BUDGET_EXHAUSTED",
        60.0,
    ),
    (
        "429 minute rate limit, Retry-After header only",
        429,
        {"errors": [current("RATE_LIMIT_EXCEEDED")]},
        {"Retry-After": "12"},
        RetryableMondayError,
        "RATE_LIMIT_EXCEEDED",
        12.0,
    ),
    (
        "429 daily limit",
        429,
        {"errors": [current("DAILY_LIMIT_EXCEEDED", retry_in_seconds=3600)]},
        {},
        LimitReachedError,
        "DAILY_LIMIT_EXCEEDED",
        3600.0,
    ),
    (
        "200 daily limit (status undocumented), no wait given",
        200,
        {"errors": [current("DAILY_LIMIT_EXCEEDED")]},
        {},
        LimitReachedError,
        "DAILY_LIMIT_EXCEEDED",
        None,
    ),
    (
        "200 ItemsLimitationException (board full)",
        200,
        {"errors": [current("ItemsLimitationException")]},
        {},
        LimitReachedError,
        "ItemsLimitationException",
        None,
    ),
    (
        "200 REQUEST_MAX_COMPLEXITY_EXCEEDED (query over 5M)",
        200,
        {"errors": [current("REQUEST_MAX_COMPLEXITY_EXCEEDED")]},
        {},
        PermanentMondayError,
        "REQUEST_MAX_COMPLEXITY_EXCEEDED",
        None,
    ),
    (
        "429 IP limit, retry_in_seconds",
        429,
        {"errors": [current("IP_RATE_LIMIT_EXCEEDED", retry_in_seconds=4)]},
        {},
        RetryableMondayError,
        "IP_RATE_LIMIT_EXCEEDED",
        4.0,
    ),
    (
        "429 FIELD_LIMIT_EXCEEDED, old format error_data.retry_in_seconds",
        429,
        {"errors": [current("FIELD_LIMIT_EXCEEDED", error_data={"retry_in_seconds": 9})]},
        {},
        RetryableMondayError,
        "FIELD_LIMIT_EXCEEDED",
        9.0,
    ),
    (
        "409 with Retry-After and a non-JSON body",
        409,
        None,
        {"Retry-After": "2"},
        RetryableMondayError,
        "HTTP_409",
        2.0,
    ),
    (
        "409 with Retry-After and another code",
        409,
        {"errors": [current("CONFLICT")]},
        {"Retry-After": "3"},
        RetryableMondayError,
        "CONFLICT",
        3.0,
    ),
    (
        "429 concurrency",
        429,
        {"errors": [current("maxConcurrencyExceeded", retry_in_seconds=2)]},
        {},
        RetryableMondayError,
        "maxConcurrencyExceeded",
        2.0,
    ),
    (
        "429 with an unknown code and no body",
        429,
        None,
        {},
        RetryableMondayError,
        "HTTP_429",
        None,
    ),
    (
        "429 legacy ComplexityException, reset time only in the message",
        429,
        LEGACY_COMPLEXITY,
        {},
        RetryableMondayError,
        "ComplexityException",
        3.0,
    ),
    (
        "200 legacy ComplexityException with status_code 429",
        200,
        LEGACY_COMPLEXITY,
        {},
        RetryableMondayError,
        "ComplexityException",
        3.0,
    ),
    (
        "200 legacy FIELD_LIMIT_EXCEEDED, retry_in_seconds in error_data",
        200,
        {
            "error_code": "FIELD_LIMIT_EXCEEDED",
            "error_message": "Concurrency limit exceeded for the field",
            "error_data": {"retry_in_seconds": 15, "entity": "boards"},
            "status_code": 429,
        },
        {},
        RetryableMondayError,
        "FIELD_LIMIT_EXCEEDED",
        15.0,
    ),
    (
        "200 ComplexityException without a reset time (query over 5M)",
        200,
        {"errors": [current("ComplexityException")]},
        {},
        PermanentMondayError,
        "ComplexityException",
        None,
    ),
    (
        "200 API_TEMPORARILY_BLOCKED",
        200,
        {"errors": [current("API_TEMPORARILY_BLOCKED")]},
        {},
        RetryableMondayError,
        "API_TEMPORARILY_BLOCKED",
        None,
    ),
    (
        "423 locked board",
        423,
        {"errors": [current("RESOURCE_LOCKED")]},
        {"Retry-After": "5"},
        RetryableMondayError,
        "RESOURCE_LOCKED",
        5.0,
    ),
    ("500 text body", 500, None, {}, RetryableMondayError, "HTTP_500", None),
    ("502 bad gateway", 502, None, {}, RetryableMondayError, "HTTP_502", None),
    (
        "503 with JSON error",
        503,
        {"errors": [current("INTERNAL_SERVER_ERROR")]},
        {},
        RetryableMondayError,
        "INTERNAL_SERVER_ERROR",
        None,
    ),
    (
        "409 idempotency key still being processed",
        409,
        {"errors": [current("IDEMPOTENCY_CONFLICT")]},
        {"Retry-After": "2"},
        RetryableMondayError,
        "IDEMPOTENCY_CONFLICT",
        2.0,
    ),
    (
        "409 idempotency key reused for a different request",
        409,
        {"errors": [current("IDEMPOTENCY_CONFLICT")]},
        {},
        PermanentMondayError,
        "IDEMPOTENCY_CONFLICT",
        None,
    ),
    (
        "409 delete last group",
        409,
        {"errors": [current("DeleteLastGroupException")]},
        {},
        PermanentMondayError,
        "DeleteLastGroupException",
        None,
    ),
    ("401 not authenticated", 401, None, {}, AuthError, "HTTP_401", None),
    (
        "401 JSON",
        401,
        {"errors": [{"message": "Not Authenticated"}]},
        {},
        AuthError,
        "UNKNOWN",
        None,
    ),
    (
        "403 USER_ACCESS_DENIED",
        403,
        {"errors": [current("USER_ACCESS_DENIED")]},
        {},
        AuthError,
        "USER_ACCESS_DENIED",
        None,
    ),
    (
        "200 USER_UNAUTHORIZED before execution",
        200,
        {"errors": [current("USER_UNAUTHORIZED", status_code=403)]},
        {},
        AuthError,
        "USER_UNAUTHORIZED",
        None,
    ),
    (
        "200 legacy UserUnauthorizedException",
        200,
        {"error_code": "UserUnauthorizedException", "error_message": "no", "status_code": 403},
        {},
        AuthError,
        "UserUnauthorizedException",
        None,
    ),
    (
        "400 JsonParseException",
        400,
        {"errors": [current("JsonParseException")]},
        {},
        PermanentMondayError,
        "JsonParseException",
        None,
    ),
    (
        "200 invalid document (validation, no data)",
        200,
        {"errors": [current("GRAPHQL_VALIDATION_FAILED")]},
        {},
        PermanentMondayError,
        "GRAPHQL_VALIDATION_FAILED",
        None,
    ),
    (
        "200 unknown code, no data",
        200,
        {"errors": [current("SomethingNewException")]},
        {},
        PermanentMondayError,
        "SomethingNewException",
        None,
    ),
    (
        "200 legacy ColumnValueException, no data",
        200,
        {"error_code": "ColumnValueException", "error_message": "bad", "status_code": 200},
        {},
        PermanentMondayError,
        "ColumnValueException",
        None,
    ),
    ("200 not JSON", 200, None, {}, PermanentMondayError, "INVALID_RESPONSE", None),
    ("200 empty object", 200, {}, {}, PermanentMondayError, "INVALID_RESPONSE", None),
    (
        "400 unknown status",
        400,
        None,
        {},
        PermanentMondayError,
        "HTTP_400",
        None,
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "code", "retry_after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_classify(
    status: int,
    body: Any,
    headers: dict[str, str],
    cls: type[MondayError],
    code: str,
    retry_after: float | None,
) -> None:
    error = classify(status, body, httpx.Headers(headers))
    assert type(error) is cls
    assert error.code == code
    assert error.http_status == status
    assert getattr(error, "retry_after", None) == retry_after


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"a1": {"id": "1"}}},
        {"data": None},
        {"data": {"a1": None}, "errors": [current("ColumnValueException", path=["a1"])]},
        {"data": None, "errors": [current("ColumnValueException", path=["a1"])]},
        {"data": {"a1": {"id": "1"}, "a2": None}, "errors": [{"message": "pathless"}]},
        {"data": None, "errors": [current("INTERNAL_SERVER_ERROR", status_code=500)]},
        {"data": {"a1": {"id": "1"}}, "error_code": "ColumnValueException", "status_code": 200},
    ],
    ids=[
        "data",
        "null data",
        "alias error",
        "alias error, null data",
        "pathless",
        "pathless, null data",
        "legacy",
    ],
)
def test_answers_read_alias_by_alias_are_not_whole_request_errors(body: Any) -> None:
    assert classify(200, body, httpx.Headers()) is None


def test_strict_makes_any_error_a_request_error() -> None:
    body = {"data": {"boards": []}, "errors": [current("InvalidBoardIdException", path=["x"])]}
    assert classify(200, body, httpx.Headers()) is None
    error = classify(200, body, httpx.Headers(), strict=True)
    assert isinstance(error, PermanentMondayError)
    assert error.code == "InvalidBoardIdException"


def test_auth_decides_over_other_errors_in_one_answer() -> None:
    body = {"errors": [current("RATE_LIMIT_EXCEEDED"), current("USER_UNAUTHORIZED")]}
    assert isinstance(classify(200, body, httpx.Headers()), AuthError)


def test_permanent_decides_over_retryable_in_one_answer() -> None:
    body = {"errors": [current("RATE_LIMIT_EXCEEDED"), current("JsonParseException")]}
    assert type(classify(200, body, httpx.Headers())) is PermanentMondayError


def test_message_text_never_classifies() -> None:
    entry = {"message": "Complexity budget exhausted, rate limit exceeded, Not Authenticated"}
    assert type(classify_error(entry, http_status=200)) is PermanentMondayError


def test_request_id_is_kept() -> None:
    body = {"errors": [current("ColumnValueException")], "extensions": {"request_id": "req-9"}}
    error = classify(200, body, httpx.Headers())
    assert error is not None and error.request_id == "req-9"


def test_retry_in_seconds_wins_over_retry_after_header() -> None:
    body = {"errors": [current("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=7)]}
    error = classify(429, body, httpx.Headers({"Retry-After": "50"}))
    assert isinstance(error, RetryableMondayError) and error.retry_after == 7


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("", None)],
)
def test_retry_after_header_seconds(raw: str, expected: float | None) -> None:
    assert retry_after_from_header(httpx.Headers({"Retry-After": raw})) == expected


def test_retry_after_header_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=45)
    seconds = retry_after_from_header(httpx.Headers({"Retry-After": format_datetime(when, True)}))
    assert seconds is not None and 40 <= seconds <= 45


@pytest.mark.parametrize(
    ("exc", "cls", "code"),
    [
        (httpx.ReadTimeout("slow"), RetryableMondayError, "TIMEOUT"),
        (httpx.ConnectTimeout("slow"), RetryableMondayError, "TIMEOUT"),
        (httpx.ConnectError("refused"), MondayUnreachableError, "UNREACHABLE"),
        (httpx.ReadError("reset"), RetryableMondayError, "CONNECTION_LOST"),
        (httpx.RemoteProtocolError("closed"), RetryableMondayError, "CONNECTION_LOST"),
        (httpx.UnsupportedProtocol("ftp"), PermanentMondayError, "TRANSPORT_ERROR"),
    ],
)
def test_transport_errors(exc: httpx.TransportError, cls: type[MondayError], code: str) -> None:
    error = from_transport_error(exc)
    assert type(error) is cls
    assert error.code == code
    assert error.http_status is None


class TestAliasResults:
    ALIASES = ("a1", "a2", "a3")

    def results(self, body: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
        mapped = alias_results(body, list(self.ALIASES), http_status=200, headers=httpx.Headers())
        return {
            alias: (r.outcome, r.error.code if r.error else r.data and r.data["id"])
            for alias, r in mapped.items()
        }

    def test_by_alias_never_by_position(self) -> None:
        body = {
            "data": {"a3": {"id": "30"}, "a1": {"id": "10"}, "a2": None},
            "errors": [current("ColumnValueException", path=["a2"])],
        }
        assert self.results(body) == {
            "a1": ("ok", "10"),
            "a2": ("failed", "ColumnValueException"),
            "a3": ("ok", "30"),
        }

    def test_pathless_errors_leave_aliases_without_data_unknown(self) -> None:
        body = {"data": {"a1": {"id": "10"}, "a2": None}, "errors": [{"message": "boom"}]}
        assert self.results(body) == {
            "a1": ("ok", "10"),
            "a2": ("unknown", None),
            "a3": ("unknown", None),
        }

    def test_errors_about_other_fields_name_no_alias(self) -> None:
        body = {"data": {"a1": None}, "errors": [current("X", path=["complexity"])]}
        assert self.results(body)["a1"] == ("unknown", None)

    def test_sub_field_error_keeps_an_applied_alias_ok(self) -> None:
        body = {
            "data": {"a1": {"id": "10", "board": None}},
            "errors": [current("ASSET_UNAVAILABLE", path=["a1", "board"])],
        }
        assert self.results(body)["a1"] == ("ok", "10")

    def test_legacy_error_beside_data_names_no_alias(self) -> None:
        body = {
            "data": {"a1": {"id": "10"}, "a2": None, "a3": None},
            "error_code": "ColumnValueException",
            "error_message": "bad",
            "status_code": 200,
        }
        assert self.results(body) == {
            "a1": ("ok", "10"),
            "a2": ("unknown", None),
            "a3": ("unknown", None),
        }

    def test_failed_alias_error_is_classified(self) -> None:
        body = {
            "data": {"a1": None, "a2": None, "a3": None},
            "errors": [
                current("ResourceNotFoundException", path=["a1"], status_code=404),
                current("USER_UNAUTHORIZED", path=["a2"], status_code=403),
                current("RESOURCE_LOCKED", path=["a3"], status_code=423),
            ],
        }
        mapped = alias_results(body, list(self.ALIASES), http_status=200, headers=httpx.Headers())
        assert type(mapped["a1"].error) is PermanentMondayError
        assert type(mapped["a2"].error) is AuthError
        assert type(mapped["a3"].error) is RetryableMondayError


def test_daily_limit_says_it_resets_at_midnight_utc() -> None:
    error = classify(429, {"errors": [current("DAILY_LIMIT_EXCEEDED")]}, httpx.Headers())
    assert isinstance(error, LimitReachedError)
    assert error.resets_at is not None
    assert (error.resets_at.hour, error.resets_at.minute, error.resets_at.tzinfo) == (0, 0, UTC)
    assert timedelta(0) < error.resets_at - datetime.now(UTC) <= timedelta(days=1)
    assert "resets at 00:00 UTC" in error.message


def test_unreachable_names_the_url_without_its_query() -> None:
    request = httpx.Request("POST", "https://user:pw@api.monday.example/v2?x=1")
    error = from_transport_error(httpx.ConnectError("[Errno 111] refused", request=request))
    assert "unreachable at https://api.monday.example/v2 " in error.message
    assert "pw" not in error.message and "x=1" not in error.message
