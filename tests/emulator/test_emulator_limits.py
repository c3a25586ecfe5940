"""Complexity budget, per-query maximum, rate and daily limits, concurrency: 429s as monday."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault, Limits

CREATE = f'mutation {{ create_item(board_id: {CMS_BOARD_ID}, item_name: "x") {{ id }} }}'
COMPLEXITY = "query { complexity { before after query reset_in_x_seconds } }"


def _client(emu: Emulator) -> httpx.Client:
    return httpx.Client(transport=emu.transport(), base_url="https://api.monday.com")


@pytest.fixture
def small_budget(clock: ManualClock) -> Iterator[tuple[Emulator, httpx.Client]]:
    emu = Emulator(clock=clock, limits=Limits(complexity_budget=25_000, complexity_window=10))
    with _client(emu) as client:
        yield emu, client


def test_complexity_reports_the_real_budget(small_budget: tuple[Emulator, httpx.Client]) -> None:
    emu, client = small_budget
    created = client.post(
        "/v2", json={"query": CREATE.replace("{ id }", "{ id } complexity { before after query }")}
    ).json()
    assert created["data"]["complexity"] == {"before": 25_000, "after": 14_989, "query": 10_011}
    report = client.post("/v2", json={"query": COMPLEXITY}).json()["data"]["complexity"]
    assert report == {"before": 14_989, "after": 14_989, "query": 0, "reset_in_x_seconds": 10}
    assert emu.stats.complexity_used == 10_011


def test_spent_budget_is_a_429_until_the_window_resets(
    small_budget: tuple[Emulator, httpx.Client], clock: ManualClock
) -> None:
    emu, client = small_budget
    for _ in range(2):
        assert client.post("/v2", json={"query": CREATE}).status_code == 200
    clock.advance(3)
    refused = client.post("/v2", json={"query": CREATE})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 7}
    assert emu.stats.mutations["create_item"] == 2
    assert emu.stats.throttled == {"COMPLEXITY_BUDGET_EXHAUSTED": 1}
    clock.advance(7)
    assert client.post("/v2", json={"query": CREATE}).status_code == 200


def test_legacy_complexity_error(clock: ManualClock) -> None:
    limits = Limits(complexity_budget=15_000, complexity_window=60)
    emu = Emulator(clock=clock, limits=limits, legacy_errors=True)
    with _client(emu) as client:
        client.post("/v2", json={"query": CREATE})
        refused = client.post("/v2", json={"query": CREATE})
    assert refused.status_code == 429
    body = refused.json()
    assert body["error_code"] == "ComplexityException"
    assert "reset in 60 seconds" in body["error_message"]
    assert refused.headers["Retry-After"] == "60"


def test_a_query_over_the_maximum_is_refused_without_spending(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, limits=Limits(max_query_complexity=1_000))
    query = "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { id name } } } }"
    with _client(emu) as client:
        body = client.post("/v2", json={"query": query, "variables": {"b": [CMS_BOARD_ID]}}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "REQUEST_MAX_COMPLEXITY_EXCEEDED"
    assert error["extensions"]["error_data"]["complexity"] > 1_000
    assert emu.stats.complexity_used == 0


def test_requests_per_minute(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, limits=Limits(requests_per_minute=3))
    with _client(emu) as client:
        answers = [client.post("/v2", json={"query": COMPLEXITY}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        error = answers[-1].json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert error["extensions"]["retry_in_seconds"] == 60
        assert answers[-1].headers["Retry-After"] == "60"
        clock.advance(60)
        assert client.post("/v2", json={"query": COMPLEXITY}).status_code == 200
    assert emu.stats.throttled == {"RATE_LIMIT_EXCEEDED": 1}


def test_daily_calls_reset_at_midnight_utc(clock: ManualClock) -> None:
    # 2026-01-01T23:00:00Z: one hour to midnight.
    emu = Emulator(clock=clock, limits=Limits(daily_calls=2), epoch=1_767_308_400.0)
    with _client(emu) as client:
        codes = [client.post("/v2", json={"query": COMPLEXITY}).status_code for _ in range(3)]
        refused = client.post("/v2", json={"query": COMPLEXITY})
        assert codes == [200, 200, 429]
        assert refused.json()["errors"][0]["extensions"]["code"] == "DAILY_LIMIT_EXCEEDED"
        assert refused.headers["Retry-After"] == "3600"
        clock.advance(3600)
        assert client.post("/v2", json={"query": COMPLEXITY}).status_code == 200


class _GateClock(ManualClock):
    """A manual clock whose sleep parks the caller until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.parked = threading.Event()
        self.release = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.parked.set()
        self.release.wait(timeout=5)
        super().sleep(seconds)


def test_concurrency_limit() -> None:
    clock = _GateClock()
    emu = Emulator(clock=clock, limits=Limits(max_concurrency=1))
    emu.inject(Fault("latency", delay=1.0))
    answers: list[int] = []
    with _client(emu) as client:
        first = threading.Thread(
            target=lambda: answers.append(
                client.post("/v2", json={"query": COMPLEXITY}).status_code
            )
        )
        first.start()
        assert clock.parked.wait(timeout=5)
        refused = client.post("/v2", json={"query": COMPLEXITY})
        clock.release.set()
        first.join(timeout=5)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "maxConcurrencyExceeded"
    assert "Retry-After" in refused.headers
    assert answers == [200]
    assert emu.stats.throttled == {"maxConcurrencyExceeded": 1}
