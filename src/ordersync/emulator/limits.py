"""monday's limits: complexity budget, requests per minute, daily calls, concurrency, and the
idempotency cache. All time comes from the emulator's clock, so tests wait out a minute instantly.

Defaults are those of a Pro account with a personal token (developer.monday.com "Rate limits";
DESIGN.md): 10,000,000 complexity points per 60 s window, 5,000,000 per query, 5,000 requests
per minute, concurrency 100, no daily cap unless set (Pro's 10,000 is a soft limit). A window
starts with its first request and resets ``window`` seconds later; ``reset_in_x_seconds`` and
``retry_in_seconds`` count down to that reset. The daily count resets at midnight UTC.

Idempotency (developer.monday.com "Idempotency"): a mutation's first answer is cached for 30
minutes under its ``Idempotency-Key`` and replayed for a retry with the same key and body; a
retry that arrives while the first is still running gets 409 with ``Retry-After``; the same
key with a different body gets 409 ``IDEMPOTENCY_CONFLICT`` without ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from ordersync.clock import Clock
from ordersync.emulator import api_errors
from ordersync.emulator.api_errors import HttpAnswer

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Limits:
    """Every limit the emulator enforces; ``None`` switches a limit off."""

    complexity_budget: int = 10_000_000
    complexity_window: float = 60.0
    max_query_complexity: int = 5_000_000
    requests_per_minute: int | None = 5_000
    daily_calls: int | None = None
    max_concurrency: int | None = 100
    idempotency_ttl: float = 30 * 60.0
    cursor_ttl: float = 60 * 60.0
    max_page_size: int = 500


class Throttled(Exception):
    """A limit said no; ``code`` is the 429 kind, ``retry_in_seconds`` when to come back."""

    def __init__(self, code: str, message: str, retry_in_seconds: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_in_seconds = retry_in_seconds


@dataclass(frozen=True)
class Charge:
    """One request's complexity: ``before``/``after`` are the budget left around it."""

    query: int
    before: int
    after: int
    reset_in_x_seconds: int


class _Window:
    """A fixed window that opens with its first use and lasts ``length`` seconds."""

    def __init__(self, clock: Clock, length: float) -> None:
        self._clock = clock
        self._length = length
        self._start: float | None = None
        self.used = 0

    def roll(self) -> None:
        now = self._clock.monotonic()
        if self._start is None or now >= self._start + self._length:
            self._start = now
            self.used = 0

    def reset_in(self) -> int:
        if self._start is None:
            return math.ceil(self._length)
        remaining = self._start + self._length - self._clock.monotonic()
        return max(1, math.ceil(remaining))


class ComplexityBudget:
    """The per-window complexity budget."""

    def __init__(self, clock: Clock, budget: int, window: float) -> None:
        self._budget = budget
        self._window = _Window(clock, window)
        self._lock = threading.Lock()

    @property
    def budget(self) -> int:
        return self._budget

    def remaining(self) -> int:
        with self._lock:
            self._window.roll()
            return self._budget - self._window.used

    def charge(self, cost: int) -> Charge:
        """Spend ``cost`` points, or raise ``Throttled`` without spending any."""
        with self._lock:
            self._window.roll()
            before = self._budget - self._window.used
            if cost > before:
                raise Throttled(
                    api_errors.COMPLEXITY_BUDGET,
                    "Complexity budget exhausted",
                    self._window.reset_in(),
                )
            self._window.used += cost
            return Charge(cost, before, before - cost, self._window.reset_in())


class RequestLimiter:
    """Requests per minute and calls per UTC day."""

    def __init__(
        self,
        clock: Clock,
        per_minute: int | None,
        per_day: int | None,
        wall_now: Callable[[], float],
    ) -> None:
        self._minute = _Window(clock, 60.0)
        self._per_minute = per_minute
        self._per_day = per_day
        self._wall_now = wall_now
        self._day: int | None = None
        self._day_count = 0
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Count one request, or raise ``Throttled`` if a limit is already reached."""
        with self._lock:
            self._check_day()
            self._minute.roll()
            if self._per_minute is not None and self._minute.used >= self._per_minute:
                raise Throttled(
                    api_errors.RATE_LIMIT, "Rate Limit Exceeded", self._minute.reset_in()
                )
            self._minute.used += 1
            self._day_count += 1

    def _check_day(self) -> None:
        now = self._wall_now()
        day = int(now // SECONDS_PER_DAY)
        if day != self._day:
            self._day, self._day_count = day, 0
        if self._per_day is not None and self._day_count >= self._per_day:
            retry = max(1, math.ceil((day + 1) * SECONDS_PER_DAY - now))
            raise Throttled(api_errors.DAILY_LIMIT, "Daily limit exceeded", retry)


class ConcurrencyGate:
    """Counts requests in flight; refuses one beyond ``limit``."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._limit is not None and self._in_flight >= self._limit:
                raise Throttled(api_errors.CONCURRENCY, "Concurrency limit exceeded", 1)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1


class IdempotencyOutcome(StrEnum):
    NEW = "new"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    CONFLICT = "conflict"


@dataclass
class _Entry:
    fingerprint: str
    answer: HttpAnswer | None
    stored_at: float


class IdempotencyCache:
    """First answers of mutations by ``Idempotency-Key``, kept ``ttl`` seconds."""

    def __init__(self, clock: Clock, ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, fingerprint: str) -> tuple[IdempotencyOutcome, HttpAnswer | None]:
        """Claim ``key`` for a new request, or say why not (with the cached answer to replay)."""
        with self._lock:
            self._purge()
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry(fingerprint, None, self._clock.monotonic())
                return IdempotencyOutcome.NEW, None
            if entry.fingerprint != fingerprint:
                return IdempotencyOutcome.CONFLICT, None
            if entry.answer is None:
                return IdempotencyOutcome.IN_FLIGHT, None
            return IdempotencyOutcome.REPLAY, entry.answer

    def complete(self, key: str, answer: HttpAnswer) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.answer = answer
                entry.stored_at = self._clock.monotonic()

    def abandon(self, key: str) -> None:
        """Forget a claim whose request was not executed (a retry may run it afresh)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.answer is None:
                del self._entries[key]

    def _purge(self) -> None:
        now = self._clock.monotonic()
        stale = [k for k, e in self._entries.items() if e.answer and now - e.stored_at >= self._ttl]
        for key in stale:
            del self._entries[key]


def throttled_answer(throttle: Throttled, *, legacy: bool) -> HttpAnswer:
    """The 429 for a refused request (not complexity, which has its own shape)."""
    return api_errors.request_error(
        429,
        throttle.code,
        throttle.message,
        legacy=legacy,
        retry_in_seconds=throttle.retry_in_seconds,
    )
