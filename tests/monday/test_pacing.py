"""The pacer: waits only when the estimated cost exceeds the remaining budget."""

from __future__ import annotations

import pytest

from ordersync.monday.models import Complexity
from ordersync.monday.pacing import (
    DEFAULT_MUTATION_COST,
    Pacer,
    RateLimitItem,
    parse_rate_limit_header,
)


def report(after: int, query: int = 0, reset: float = 30) -> Complexity:
    return Complexity(before=after + query, query=query, after=after, reset_in_seconds=reset)


def test_unknown_budget_never_waits() -> None:
    assert Pacer().delay({"create_item": 500}, now=0) == 0


def test_default_cost_per_create_before_any_measure() -> None:
    pacer = Pacer()
    assert pacer.estimate({"create_subitem": 3}) == 3 * DEFAULT_MUTATION_COST
    pacer.observe(report(after=25_000), {"GetBoard": 1}, now=100)
    assert pacer.delay({"create_subitem": 2}, now=100) == 0
    assert pacer.delay({"create_subitem": 3}, now=110) == pytest.approx(20)


def test_measured_cost_per_alias_replaces_the_default() -> None:
    pacer = Pacer()
    pacer.observe(report(after=1_000_000, query=300_000), {"create_subitem": 50}, now=0)
    assert pacer.estimate({"create_subitem": 10}) == 60_000
    pacer.observe(report(after=50_000, query=300_000, reset=12), {"create_subitem": 50}, now=1)
    assert pacer.delay({"create_subitem": 8}, now=1) == 0
    assert pacer.delay({"create_subitem": 9}, now=1) == pytest.approx(12)


def test_budget_is_forgotten_after_its_reset() -> None:
    pacer = Pacer()
    pacer.observe(report(after=0, reset=10), {"ItemsPage": 1}, now=0)
    assert pacer.delay({"ItemsPage": 1}, now=5) == pytest.approx(5)
    assert pacer.delay({"ItemsPage": 1}, now=10) == 0
    assert pacer.remaining is None


def test_reads_wait_only_on_an_exhausted_budget() -> None:
    pacer = Pacer()
    pacer.observe(report(after=5, reset=10), {"GetBoard": 1}, now=0)
    assert pacer.delay({"ItemsPage": 1}, now=0) == 0
    pacer.observe(report(after=0, reset=10), {"GetBoard": 1}, now=0)
    assert pacer.delay({"ItemsPage": 1}, now=0) == pytest.approx(10)


def test_mixed_request_shares_its_cost() -> None:
    pacer = Pacer()
    pacer.observe(report(after=10**6, query=40_000), {"create_item": 1, "archive_item": 3}, now=0)
    assert pacer.estimate({"create_item": 1}) == 10_000
    assert pacer.estimate({"archive_item": 2}) == 20_000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"minuteRate";r=0;t=12', [RateLimitItem("minuteRate", {"r": 0, "t": 12})]),
        ("minuteRate;r=5;t=3", [RateLimitItem("minuteRate", {"r": 5, "t": 3})]),
        (
            '"minuteRate";q=2500;w=60, "concurrency";q=100',
            [
                RateLimitItem("minuteRate", {"q": 2500, "w": 60}),
                RateLimitItem("concurrency", {"q": 100}),
            ],
        ),
        ('"x";r=soon', [RateLimitItem("x", {})]),
        ("", []),
        (None, []),
    ],
)
def test_rate_limit_headers_parse(header: str | None, expected: list[RateLimitItem]) -> None:
    assert parse_rate_limit_header(header) == expected


def test_an_exhausted_policy_waits_its_reset_and_concurrency_never_waits() -> None:
    pacer = Pacer()
    pacer.observe_headers({"RateLimit": '"minuteRate";r=0;t=12, "concurrency";r=0;t=99'}, now=100.0)
    assert pacer.delay({"GetBoard": 1}, now=100.0) == 12
    assert pacer.delay({"GetBoard": 1}, now=112.0) == 0
    pacer.observe_headers({"RateLimit": '"minuteRate";r=3;t=40'}, now=113.0)
    assert pacer.delay({"GetBoard": 1}, now=113.0) == 0


def test_the_complexity_header_is_the_remaining_budget() -> None:
    pacer = Pacer()
    pacer.observe_headers({"RateLimit": '"complexityMinute";r=15000;t=30'}, now=0.0)
    assert pacer.remaining == 15_000
    assert pacer.delay({"create_item": 2}, now=0.0) == 30  # 2 x 10,000 estimated > 15,000
    assert pacer.delay({"create_item": 1}, now=0.0) == 0
