"""monday's limit and conflict answers, emulated, and the client's reaction to each.

Each test runs the real client against the emulator (in-process, or over real HTTP for a
refused connection) and checks what the client did: waited how long, under which
``Idempotency-Key``, raised what, applied how many mutations. Sources: FACTS.md "Errors",
"Limits", "Idempotency-Key", "Versions and headers"; docs/monday-errors.md.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault, Limits, Undocumented
from ordersync.errors import (
    LimitReachedError,
    MondayUnreachableError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday import MondayClient, documents
from ordersync.monday.client import REQUEST_TIMEOUT, SERVER_TIMEOUT
from ordersync.monday.column_values import to_monday

URL = "http://emulator/v2"
KEY_COLUMN = "text_mkr5wya6"
EPOCH = 1_767_308_400.0  # 2026-01-01 23:00 UTC: one hour before the daily reset


class Recording(httpx.BaseTransport):
    """Passes requests to the emulator and remembers each one's ``Idempotency-Key``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        return self.inner.handle_request(request)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make(clock: ManualClock, **options: Any) -> tuple[Emulator, Recording, MondayClient]:
    emu = Emulator(clock=clock, seed=True, epoch=EPOCH, **options)
    transport = Recording(emu.transport())
    return emu, transport, MondayClient(URL, "tok", transport=transport, clock=clock)


def create(name: str, alias: str = "a1") -> documents.Mutation:
    return documents.create_item(
        alias,
        board_id=CMS_BOARD_ID,
        item_name=name,
        column_values={KEY_COLUMN: to_monday("text", name)},
    )


def created(emu: Emulator) -> list[str]:
    return [row["name"] for row in emu.items(CMS_BOARD_ID) if row["state"] == "active"]


# --- timeouts ----------------------------------------------------------------------------


def test_the_client_times_out_before_monday_does() -> None:
    with MondayClient(URL, "tok") as client:
        assert client._http.timeout.read == REQUEST_TIMEOUT < SERVER_TIMEOUT
    with pytest.raises(ValueError, match="below monday's 60 s"):
        MondayClient(URL, "tok", timeout=SERVER_TIMEOUT)


# --- 409 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=409, retry_in_seconds=2, code="IDEMPOTENCY_CONFLICT"),
        Fault("status", status=409, retry_in_seconds=2, code="SOMETHING_ELSE"),
        Fault("status", status=409, retry_in_seconds=2, body="<html>409 Conflict</html>"),
    ],
    ids=["IDEMPOTENCY_CONFLICT", "another code", "not JSON"],
)
def test_409_with_retry_after_is_retried_under_the_same_key(
    clock: ManualClock, fault: Fault
) -> None:
    emu, transport, client = make(clock)
    emu.inject(fault)
    with client:
        result = client.mutate([create("C409")], idempotency_key="k-409")["a1"]
    assert result.outcome == "ok"
    assert clock.slept == [2]
    assert transport.keys == ["k-409", "k-409"]
    assert created(emu) == ["C409"]


def test_409_without_retry_after_is_not_retried(clock: ManualClock) -> None:
    emu, transport, client = make(clock)
    emu.inject(Fault("status", status=409, code="IDEMPOTENCY_CONFLICT"))
    with client, pytest.raises(PermanentMondayError) as caught:
        client.mutate([create("C409")], idempotency_key="k-409")
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    assert len(transport.keys) == 1


# --- daily limit -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 200])
def test_daily_limit_stops_at_once_and_says_when_it_resets(clock: ManualClock, status: int) -> None:
    emu, transport, client = make(
        clock,
        limits=Limits(daily_calls=1),
        undocumented=Undocumented(daily_limit_status=status),
    )
    with client:
        client.mutate([create("D1")], idempotency_key="k-d1")
        with pytest.raises(LimitReachedError) as caught:
            client.mutate([create("D2")], idempotency_key="k-d2")
    error = caught.value
    assert error.code == "DAILY_LIMIT_EXCEEDED"
    assert error.retryable  # the batch stays resumable ...
    assert len(transport.keys) == 2 and clock.slept == []  # ... and nothing was retried
    assert error.retry_after == 3600  # the emulator's day ends an hour after EPOCH
    assert "resets at 00:00 UTC" in error.message
    assert created(emu) == ["D1"]


# --- 429s: minute rate, concurrency, IP, field level -----------------------------------


def test_minute_rate_limit_waits_retry_after_then_resends_under_a_fresh_key(
    clock: ManualClock,
) -> None:
    emu, transport, client = make(clock)
    emu.inject(Fault("status", status=429, code="RATE_LIMIT_EXCEEDED", retry_in_seconds=7))
    fresh = iter(["k-2"])
    with client:
        result = client.mutate(
            [create("R1")], idempotency_key="k-1", fresh_key=lambda: next(fresh)
        )["a1"]
    assert result.outcome == "ok"
    assert clock.slept == [7]
    assert transport.keys == ["k-1", "k-2"]
    assert created(emu) == ["R1"]


def test_a_429_after_an_uncertain_attempt_keeps_the_key(clock: ManualClock) -> None:
    # The first attempt may have applied (it timed out after monday ran it): a new key could
    # run it twice, so the key stays even though the 429 itself was not processed.
    emu, transport, client = make(clock, limits=Limits(requests_per_minute=1))
    emu.inject(Fault("timeout", after_apply=True))
    with client:
        results = client.mutate([create("U1")], idempotency_key="k-1", fresh_key=lambda: "k-2")
    assert results["a1"].outcome == "ok"
    assert emu.stats.throttled["RATE_LIMIT_EXCEEDED"] == 1
    assert transport.keys == ["k-1", "k-1", "k-1"]  # timed out, 429, replayed
    assert created(emu) == ["U1"]


def test_without_a_fresh_key_source_a_429_resends_the_same_key(clock: ManualClock) -> None:
    emu, transport, client = make(clock)
    emu.inject(Fault("status", status=429, retry_in_seconds=3))
    with client:
        client.mutate([create("S1")], idempotency_key="k-1")
    assert transport.keys == ["k-1", "k-1"]


def test_concurrency_limit_is_waited_out(clock: ManualClock) -> None:
    emu, _, client = make(clock, limits=Limits(max_concurrency=1))
    held = ExitStack()
    held.enter_context(emu.concurrency.slot())  # another request of the account in flight
    clock_sleep = clock.sleep

    def sleep_then_release(seconds: float) -> None:
        clock_sleep(seconds)
        held.close()

    clock.sleep = sleep_then_release  # type: ignore[method-assign]
    with client:
        board = client.get_board(CMS_BOARD_ID)
    assert board.id == CMS_BOARD_ID
    assert emu.stats.throttled["maxConcurrencyExceeded"] == 1
    assert clock.slept == [1]


def test_ip_limit_waits_retry_in_seconds(clock: ManualClock) -> None:
    emu, _, client = make(clock, limits=Limits(ip_requests_per_window=2, ip_window=10))
    with client:
        for _ in range(3):
            client.get_board(CMS_BOARD_ID)
    assert emu.stats.throttled["IP_RATE_LIMIT_EXCEEDED"] == 1
    assert clock.slept == [10]


def test_field_limit_old_format_waits_error_data_retry_in_seconds(clock: ManualClock) -> None:
    emu, _, client = make(clock)
    fault = {"kind": "status", "status": 429, "code": "FIELD_LIMIT_EXCEEDED", "retry_in_seconds": 9}
    emu.inject(Fault(**fault))
    raw = httpx.Client(transport=emu.transport(), base_url="http://emulator")
    answer = raw.post("/v2", json={"query": "{ me { id } }"})
    assert answer.status_code == 429 and "Retry-After" not in answer.headers
    [error] = answer.json()["errors"]
    assert error["extensions"]["error_data"] == {"retry_in_seconds": 9}
    emu.inject(Fault(**fault))
    with client:
        client.mutate([create("F1")], idempotency_key="k-1")
    assert clock.slept == [9]
    assert created(emu) == ["F1"]


def test_locked_board_is_retried_under_the_same_key(clock: ManualClock) -> None:
    emu, transport, client = make(clock)
    emu.inject(Fault("status", status=423, retry_in_seconds=2))
    with client:
        client.mutate([create("L1")], idempotency_key="k-1", fresh_key=lambda: "k-fresh")
    assert transport.keys == ["k-1", "k-1"]
    assert created(emu) == ["L1"]


# --- a full board ------------------------------------------------------------------------


def test_a_full_board_fails_every_create_with_one_limit_error(clock: ManualClock) -> None:
    emu, _, client = make(clock)
    emu.inject(Fault("alias_error", match="create_item", code="ItemsLimitationException"))
    with client:
        results = client.mutate([create("B1"), create("B2", "a2")], idempotency_key="k-1")
    for result in results.values():
        assert result.outcome == "failed"
        assert isinstance(result.error, LimitReachedError)
        assert "10,000 items per board" in result.error.message
    assert created(emu) == []


# --- pacing from monday's signals --------------------------------------------------------


def test_every_answer_carries_rate_limit_headers(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, seed=True, limits=Limits.for_plan("pro"))
    raw = httpx.Client(transport=emu.transport(), base_url="http://emulator")
    answer = raw.post("/v2", json={"query": "{ me { id } }"})
    assert answer.headers["RateLimit-Policy"] == (
        '"minuteRate";q=2500;w=60, "concurrency";q=100, "complexityMinute";q=10000000;w=60'
    )
    states = answer.headers["RateLimit"]
    minute, concurrency, complexity = states.split(", ")
    assert (minute, concurrency) == ('"minuteRate";r=2499;t=60', '"concurrency";r=100')
    assert complexity.startswith('"complexityMinute";r=') and complexity.endswith(";t=60")


def test_rate_limit_headers_pace_the_client_before_a_429(clock: ManualClock) -> None:
    emu, _, client = make(clock, limits=Limits(requests_per_minute=3))
    with client:
        for _ in range(5):
            client.get_board(CMS_BOARD_ID)
    assert sum(emu.stats.throttled.values()) == 0
    assert client.stats.throttled == 0
    assert client.stats.paced_seconds == pytest.approx(60)


# --- a refused connection ----------------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


def test_a_refused_connection_fails_fast_naming_the_url(
    clock: ManualClock, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/v2"
    with MondayClient(url, "tok", clock=clock) as client:
        with pytest.raises(MondayUnreachableError) as caught:
            client.get_board(CMS_BOARD_ID)
        assert client.stats.requests == 3
    assert clock.slept == [0.5, 1.0]
    assert f"monday is unreachable at {url}" in caught.value.message
    assert isinstance(caught.value, RetryableMondayError)  # a batch stays resumable


# --- a query over 5M points ---------------------------------------------------------------


def test_a_page_too_complex_is_halved_until_monday_takes_it(clock: ManualClock) -> None:
    shape = documents.ReadShape(subitems=True)
    probe = Emulator(clock=clock, seed=True)

    def cost(limit: int) -> int:
        variables = {"boardId": str(CMS_BOARD_ID), "limit": limit}
        prepared = probe.service.prepare(
            documents.items_page_document(shape), variables, "ItemsPage"
        )
        return prepared.cost

    # A page of 125 fits; 500 and 250 do not: monday answers REQUEST_MAX_COMPLEXITY_EXCEEDED.
    assert cost(125) < cost(250)
    emu, _, client = make(clock, limits=Limits(max_query_complexity=cost(125)))
    with client:
        for n in range(3):
            client.mutate([create(f"P{n}")], idempotency_key=f"k-{n}")
        items = list(client.iter_items(CMS_BOARD_ID, with_subitems=True))
    assert sorted(item.name for item in items) == ["P0", "P1", "P2"]
    assert emu.stats.errors["REQUEST_MAX_COMPLEXITY_EXCEEDED"] == 2  # 500, then 250


def test_a_refused_connection_is_not_retried_when_retries_are_off(
    clock: ManualClock, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/v2"
    with MondayClient(url, "tok", clock=clock, max_retries=0) as client:
        with pytest.raises(MondayUnreachableError):
            client.get_board(CMS_BOARD_ID)
        assert client.stats.requests == 1
    assert clock.slept == []
