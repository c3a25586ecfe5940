"""The client's request loop against a scripted monday: retries, keys, aliases, secrets, pacing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from monday.scripted_monday import TOKEN, URL, ScriptedMonday, answer, complexity
from ordersync.clock import ManualClock
from ordersync.errors import (
    AuthError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday import AliasResult, MondayClient, documents

KEY = "batch-7-request-3"


def creates(count: int) -> list[documents.Mutation]:
    return [
        documents.create_subitem(
            f"a{n}", parent_item_id=100, item_name=f"S{n}", column_values={"numeric": str(n)}
        )
        for n in range(1, count + 1)
    ]


def ok_data(*aliases: str, after: int = 9_000_000) -> dict[str, object]:
    data: dict[str, object] = {"complexity": complexity(after=after)}
    for n, alias in enumerate(aliases, start=1):
        data[alias] = {"id": str(1000 + n), "board": {"id": "200"}}
    return {"data": data}


def outcomes(results: dict[str, AliasResult]) -> dict[str, str]:
    return {alias: result.outcome for alias, result in results.items()}


class TestRequests:
    def test_headers_and_payload(self, client: MondayClient, monday: ScriptedMonday) -> None:
        monday.answers.append(answer(200, ok_data("a1")))
        client.mutate(creates(1), idempotency_key=KEY, operation_name="CreateSubitems")
        request = monday.requests[0]
        assert request.method == "POST" and str(request.url) == URL
        assert request.headers["Authorization"] == TOKEN
        assert request.headers["API-Version"] == "2026-10"
        assert request.headers["Idempotency-Key"] == KEY
        assert request.headers["User-Agent"] == "ordersync/0.1"
        assert request.headers["Content-Type"] == "application/json"
        body = monday.bodies()[0]
        assert body["operationName"] == "CreateSubitems"
        assert body["variables"]["a1_item_name"] == "S1"
        assert "complexity {" in body["query"]

    def test_reads_send_no_idempotency_key(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(answer(200, {"data": {"me": {"id": "1"}}}))
        assert client.execute("query Me { me { id } }", operation_name="Me") == {"me": {"id": "1"}}
        assert "Idempotency-Key" not in monday.requests[0].headers

    def test_no_token_sends_no_authorization(
        self, make_client: Callable[..., MondayClient], monday: ScriptedMonday
    ) -> None:
        client = make_client(token=None)
        monday.answers.append(answer(200, {"data": {}}))
        client.execute("query Me { me { id } }", operation_name="Me")
        assert "Authorization" not in monday.requests[0].headers

    def test_mutations_need_a_key(self, client: MondayClient) -> None:
        with pytest.raises(ValueError):
            client.mutate(creates(1), idempotency_key="")


class TestRetries:
    def test_retry_keeps_the_same_idempotency_key_and_body(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        monday.answers += [
            answer(502, text="bad gateway"),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("peer closed"),
            answer(423, {"errors": [{"message": "locked"}]}),
            answer(200, ok_data("a1", "a2")),
        ]
        results = client.mutate(creates(2), idempotency_key=KEY)
        assert outcomes(results) == {"a1": "ok", "a2": "ok"}
        assert [r.headers["Idempotency-Key"] for r in monday.requests] == [KEY] * 5
        assert len({r.content for r in monday.requests}) == 1
        assert client.stats.requests == 5 and client.stats.retries == 4
        assert client.stats.mutations_sent == 10
        assert len(clock.slept) == 4

    @pytest.mark.parametrize(
        "failure",
        [
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("peer closed"),
            answer(502, text="bad gateway"),
            answer(500, {"errors": [{"message": "x"}]}),
        ],
        ids=["timeout", "lost-connection", "502", "500"],
    )
    def test_a_failure_after_which_monday_may_have_applied_is_not_resent_when_asked(
        self, client: MondayClient, monday: ScriptedMonday, failure: object
    ) -> None:
        """Creates: the caller looks up what exists first (monday's cache is no guarantee)."""
        monday.answers += [failure, answer(200, ok_data("a1"))]  # type: ignore[list-item]
        with pytest.raises(RetryableMondayError):
            client.mutate(creates(1), idempotency_key=KEY, resend_if_maybe_applied=False)
        assert len(monday.requests) == 1

    def test_refusals_are_resent_even_when_asked_not_to_resend_maybe_applied(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers += [
            answer(429, {"errors": [{"message": "x"}]}, headers={"Retry-After": "1"}),
            answer(423, {"errors": [{"message": "locked"}]}),
            answer(200, ok_data("a1")),
        ]
        results = client.mutate(creates(1), idempotency_key=KEY, resend_if_maybe_applied=False)
        assert outcomes(results) == {"a1": "ok"}
        assert len(monday.requests) == 3

    def test_retry_in_seconds_is_honoured(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        monday.answers += [
            answer(
                429,
                {
                    "errors": [
                        {
                            "message": "x",
                            "extensions": {
                                "code": "COMPLEXITY_BUDGET_EXHAUSTED",
                                "retry_in_seconds": 17,
                            },
                        }
                    ]
                },
                headers={"Retry-After": "60"},
            ),
            answer(200, ok_data("a1")),
        ]
        client.mutate(creates(1), idempotency_key=KEY)
        assert clock.slept == [17]
        assert client.stats.throttled == 1

    def test_retry_after_header_is_honoured(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        monday.answers += [
            answer(429, {"errors": [{"message": "x"}]}, headers={"Retry-After": "9"}),
            answer(200, ok_data("a1")),
        ]
        client.mutate(creates(1), idempotency_key=KEY)
        assert clock.slept == [9]

    def test_backoff_grows_with_jitter_and_a_cap(
        self, make_client: Callable[..., MondayClient], monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        client = make_client(max_retries=8)
        monday.answers += [answer(500, text="oops")] * 8 + [answer(200, ok_data("a1"))]
        client.mutate(creates(1), idempotency_key=KEY)
        ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
        assert len(clock.slept) == 8
        for waited, ceiling in zip(clock.slept, ceilings, strict=True):
            assert ceiling / 2 <= waited <= ceiling

    def test_exhausted_retries_raise_retryable_from_the_last_failure(
        self, make_client: Callable[..., MondayClient], monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        client = make_client(max_retries=2)
        monday.answers += [httpx.RemoteProtocolError("dropped")] * 3
        with pytest.raises(RetryableMondayError) as caught:
            client.mutate(creates(1), idempotency_key=KEY)
        assert caught.value.code == "CONNECTION_LOST"
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        assert len(monday.requests) == 3 and len(clock.slept) == 2

    def test_timeout_is_raised_from_the_httpx_error(
        self, make_client: Callable[..., MondayClient], monday: ScriptedMonday
    ) -> None:
        client = make_client(max_retries=0)
        monday.answers.append(httpx.WriteTimeout("slow"))
        with pytest.raises(RetryableMondayError) as caught:
            client.execute("query Me { me { id } }", operation_name="Me")
        assert caught.value.code == "TIMEOUT"
        assert isinstance(caught.value.__cause__, httpx.WriteTimeout)

    @pytest.mark.parametrize(
        ("response", "cls"),
        [
            (answer(401, text="Not Authenticated"), AuthError),
            (
                answer(
                    200,
                    {
                        "errors": [
                            {"message": "x", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                        ]
                    },
                ),
                PermanentMondayError,
            ),
            (
                answer(400, {"error_code": "JsonParseException", "error_message": "bad"}),
                PermanentMondayError,
            ),
        ],
        ids=["auth", "invalid document", "legacy bad request"],
    )
    def test_permanent_errors_are_never_retried(
        self,
        client: MondayClient,
        monday: ScriptedMonday,
        clock: ManualClock,
        response: httpx.Response,
        cls: type[Exception],
    ) -> None:
        monday.answers.append(response)
        with pytest.raises(cls):
            client.mutate(creates(1), idempotency_key=KEY)
        assert len(monday.requests) == 1 and clock.slept == []

    def test_idempotency_conflict_waits_and_retries_with_the_same_key(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        monday.answers += [
            answer(
                409,
                {
                    "errors": [
                        {"message": "in progress", "extensions": {"code": "IDEMPOTENCY_CONFLICT"}}
                    ]
                },
                headers={"Retry-After": "3"},
            ),
            answer(200, ok_data("a1"), headers={"Idempotency-Replayed": "true"}),
        ]
        results = client.mutate(creates(1), idempotency_key=KEY)
        assert results["a1"].outcome == "ok"
        assert clock.slept == [3]
        assert client.stats.replayed == 1

    def test_a_wait_longer_than_allowed_is_raised_at_once(
        self, make_client: Callable[..., MondayClient], monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        client = make_client(max_retry_wait=600)
        monday.answers.append(
            answer(
                429,
                {
                    "errors": [
                        {
                            "message": "budget",
                            "extensions": {
                                "code": "COMPLEXITY_BUDGET_EXHAUSTED",
                                "retry_in_seconds": 7200,
                            },
                        }
                    ]
                },
            )
        )
        with pytest.raises(RetryableMondayError) as caught:
            client.mutate(creates(1), idempotency_key=KEY)
        assert caught.value.retry_after == 7200
        assert clock.slept == []


class TestAliases:
    def test_results_are_mapped_by_alias_not_position(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(
            answer(
                200,
                {
                    "data": {
                        "a3": {"id": "33", "board": {"id": "200"}},
                        "complexity": complexity(),
                        "a1": {"id": "11", "board": {"id": "200"}},
                        "a2": None,
                    },
                    "errors": [
                        {
                            "message": "label does not exist",
                            "path": ["a2"],
                            "extensions": {"code": "ColumnValueException", "status_code": 200},
                        }
                    ],
                },
            )
        )
        results = client.mutate(creates(3), idempotency_key=KEY)
        assert results["a1"] == AliasResult("a1", "ok", data={"id": "11", "board": {"id": "200"}})
        assert results["a3"].data == {"id": "33", "board": {"id": "200"}}
        failed = results["a2"]
        assert failed.outcome == "failed"
        assert isinstance(failed.error, PermanentMondayError)
        assert failed.error.code == "ColumnValueException"

    def test_errors_without_paths_leave_aliases_unknown(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(
            answer(
                200,
                {
                    "data": {"a1": {"id": "11"}, "a2": None},
                    "errors": [{"message": "something went wrong"}],
                },
            )
        )
        results = client.mutate(creates(3), idempotency_key=KEY)
        assert outcomes(results) == {"a1": "ok", "a2": "unknown", "a3": "unknown"}

    def test_null_data_with_errors_naming_no_alias_leaves_all_unknown(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        # Execution began ("data" is there), so nothing may be assumed failed or retried.
        monday.answers.append(
            answer(
                200,
                {
                    "data": None,
                    "errors": [
                        {
                            "message": "Internal server error",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR", "status_code": 500},
                        }
                    ],
                },
            )
        )
        results = client.mutate(creates(2), idempotency_key=KEY)
        assert outcomes(results) == {"a1": "unknown", "a2": "unknown"}
        assert len(monday.requests) == 1 and clock.slept == []

    def test_data_missing_for_an_alias_is_unknown(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(answer(200, {"data": {"a1": {"id": "11"}}}))
        assert outcomes(client.mutate(creates(2), idempotency_key=KEY)) == {
            "a1": "ok",
            "a2": "unknown",
        }


ECHO = {
    "errors": [
        {
            "message": f"token {TOKEN} is not valid for this account",
            "extensions": {"code": "USER_UNAUTHORIZED"},
        }
    ]
}


class TestSecrets:
    def test_token_is_scrubbed_from_request_errors(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(answer(401, ECHO))
        with pytest.raises(AuthError) as caught:
            client.execute("query Me { me { id } }", operation_name="Me")
        error = caught.value
        for text in (str(error), repr(error), error.message, *map(str, error.args)):
            assert TOKEN not in text
        assert "[REDACTED]" in error.message

    def test_token_is_scrubbed_from_alias_results(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(
            answer(
                200,
                {
                    "data": {"a1": None, "a2": {"id": "5", "name": f"x{TOKEN}"}},
                    "errors": [
                        {
                            "message": f"bad {TOKEN}",
                            "path": ["a1"],
                            "extensions": {"code": "ColumnValueException"},
                        }
                    ],
                },
            )
        )
        results = client.mutate(creates(2), idempotency_key=KEY)
        assert TOKEN not in repr(results)
        assert TOKEN not in str(results["a1"].error)

    def test_token_is_not_in_repr_stats_or_logs(
        self, client: MondayClient, monday: ScriptedMonday, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        server_error = {"errors": [{"message": f"crashed while serving {TOKEN}"}]}
        monday.answers += [answer(500, server_error), answer(200, ok_data("a1"))]
        client.mutate(creates(1), idempotency_key=KEY)
        assert TOKEN not in repr(client)
        assert TOKEN not in repr(client.stats)
        assert TOKEN not in caplog.text
        messages = [r.getMessage() for r in caplog.records if r.name == "ordersync.monday"]
        assert any("Deliver" in m and "HTTP 500" in m for m in messages)
        assert all("S1" not in m for m in messages)  # no variables in logs


class TestExecute:
    def test_any_error_raises_even_beside_data(
        self, client: MondayClient, monday: ScriptedMonday
    ) -> None:
        monday.answers.append(
            answer(
                200,
                {
                    "data": {"boards": [None]},
                    "errors": [
                        {
                            "message": "no",
                            "path": ["boards", 0],
                            "extensions": {"code": "InvalidBoardIdException"},
                        }
                    ],
                },
            )
        )
        with pytest.raises(PermanentMondayError) as caught:
            client.execute("query B { boards { id } }", operation_name="B")
        assert caught.value.code == "InvalidBoardIdException"

    def test_retryable_error_beside_data_is_retried(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        monday.answers += [
            answer(
                200,
                {
                    "data": {"boards": None},
                    "errors": [
                        {
                            "message": "busy",
                            "path": ["boards"],
                            "extensions": {"code": "maxConcurrencyExceeded", "retry_in_seconds": 4},
                        }
                    ],
                },
            ),
            answer(200, {"data": {"boards": []}}),
        ]
        assert client.execute("query B { boards { id } }", operation_name="B") == {"boards": []}
        assert clock.slept == [4]


class TestPacing:
    def test_waits_for_the_reset_when_the_next_request_would_not_fit(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        first = ok_data("a1", "a2")
        first["data"]["complexity"] = complexity(after=50_000, query=20_000, reset=25)  # type: ignore[index]
        monday.answers += [answer(200, first), answer(200, ok_data("a1", "a2", "a3", "a4", "a5"))]
        client.mutate(creates(2), idempotency_key="k1")  # measured: 10,000 per create_subitem
        assert clock.slept == []
        client.mutate(creates(5), idempotency_key="k2")  # needs 50,000: fits
        assert clock.slept == []
        assert client.stats.last_complexity is not None
        assert client.stats.last_complexity.after == 9_000_000

    def test_low_budget_sleeps_until_reset(
        self, client: MondayClient, monday: ScriptedMonday, clock: ManualClock
    ) -> None:
        first = ok_data("a1")
        first["data"]["complexity"] = complexity(after=15_000, query=10_000, reset=25)  # type: ignore[index]
        monday.answers += [answer(200, first), answer(200, ok_data("a1", "a2"))]
        client.mutate(creates(1), idempotency_key="k1")
        client.mutate(creates(2), idempotency_key="k2")  # needs 20,000 > 15,000 left
        assert clock.slept == [25]
        assert client.stats.paced_seconds == 25


def test_create_group_returns_the_group(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers.append(
        answer(200, {"data": {"a1": {"id": "new_group", "title": "GREYSON 2025 FALL"}}})
    )
    group = client.create_group(1, "GREYSON 2025 FALL", idempotency_key=KEY)
    assert (group.id, group.title) == ("new_group", "GREYSON 2025 FALL")
    assert monday.bodies()[0]["operationName"] == "CreateGroup"


def test_create_group_resolves_an_unknown_outcome_by_reading_the_board(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    monday.answers += [
        answer(200, {"data": {"a1": None}, "errors": [{"message": "?"}]}),
        answer(
            200,
            {
                "data": {
                    "boards": [
                        {
                            "id": "1",
                            "name": "CMS",
                            "columns": [],
                            "groups": [{"id": "g7", "title": "GREYSON 2025 FALL"}],
                        }
                    ]
                }
            },
        ),
    ]
    assert client.create_group(1, "GREYSON 2025 FALL", idempotency_key=KEY).id == "g7"


def test_create_group_looks_for_the_group_before_resending_after_a_lost_answer(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    def board(*groups: dict[str, str]) -> httpx.Response:
        return answer(
            200,
            {"data": {"boards": [{"id": "1", "name": "CMS", "columns": [], "groups": groups}]}},
        )

    monday.answers += [
        httpx.RemoteProtocolError("peer closed"),
        board(),  # not there: monday did not apply it, resend (same key)
        httpx.ReadTimeout("slow"),
        board({"id": "g9", "title": "GREYSON 2025 FALL"}),  # applied: adopted, not resent
    ]
    assert client.create_group(1, "GREYSON 2025 FALL", idempotency_key=KEY).id == "g9"
    names = [monday.bodies()[n]["operationName"] for n in range(4)]
    assert names == ["CreateGroup", "GetBoard", "CreateGroup", "GetBoard"]


def test_create_group_failure_raises(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers.append(
        answer(
            200,
            {
                "data": {"a1": None},
                "errors": [
                    {
                        "message": "no",
                        "path": ["a1"],
                        "extensions": {"code": "InvalidBoardIdException"},
                    }
                ],
            },
        )
    )
    with pytest.raises(PermanentMondayError):
        client.create_group(1, "X", idempotency_key=KEY)


def test_context_manager_closes(make_client: Callable[..., MondayClient]) -> None:
    with make_client() as client:
        pass
    with pytest.raises(RuntimeError):
        client.execute("query Me { me { id } }", operation_name="Me")
