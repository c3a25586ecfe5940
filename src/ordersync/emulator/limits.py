"""monday's limits: complexity budget, requests per minute, per IP, daily calls, concurrency,
items per board, and the idempotency cache. All time comes from the emulator's clock, so tests
wait out a minute instantly.

Figures (``../shared/monday/FACTS.md`` "Limits"; developer.monday.com "Rate limits"; the
support article "API Rate Limits" for Free/Trial's 200 daily calls), as plan presets
(``Limits.for_plan``, ``ordersync emulator --plan``):

=========== ============ ========== =========== ============ ===========
plan        points/min   requests   concurrency daily calls  items/board
=========== ============ ========== =========== ============ ===========
trial/free  1,000,000    1,000      40          200          10,000
standard    10,000,000   1,000      40          1,000        10,000
pro         10,000,000   2,500      100         10,000       10,000
enterprise  10,000,000   5,000      250         25,000       10,000
=========== ============ ========== =========== ============ ===========

(``basic`` is ``standard``.) Every plan: 5,000,000 points per query, 5,000 requests per 10 s
per IP. ``Limits()`` itself keeps the emulator's historic default (points and requests of an
Enterprise personal token, Pro's concurrency, no daily cap), so existing runs are unchanged.
A window starts with its first request and resets ``window`` seconds later;
``reset_in_x_seconds`` and ``retry_in_seconds`` count down to that reset. The daily count
resets at midnight UTC. Every GraphQL answer carries ``RateLimit-Policy`` / ``RateLimit``
headers for ``minuteRate``, ``concurrency`` and ``complexityMinute`` (``rate_limit_headers``).

Idempotency (developer.monday.com "Idempotency"): a mutation's first answer is cached for 30
minutes under its ``Idempotency-Key`` and replayed for a retry with the same key and body; a
retry that arrives while the first is still running gets 409 with ``Retry-After``; the same
key with a different body gets 409 ``IDEMPOTENCY_CONFLICT`` without ``Retry-After``.
The cache is not a guarantee on monday either (answers over 1 MB and answers past the
per-user cache budget are not kept; a cache can be lost): ``IdempotencyCache.forget`` drops
every key (monday restarted), ``remember = False`` keeps none from then on.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, Literal

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
    ip_requests_per_window: int | None = 5_000
    ip_window: float = 10.0
    items_per_board: int | None = 10_000
    bulk_starts_per_hour: int | None = 100
    bulk_items_per_hour: int | None = 19_000
    bulk_ingest_rows: int = 10_000
    bulk_backfill_rows: int = 20_000
    bulk_max_file_bytes: int = 150 * 1024 * 1024
    bulk_url_ttl: float = 10 * 60.0
    bulk_job_seconds: float = 2.0
    bulk_rows_per_second: float | None = 100.0
    """Bulk import (``bulk``; FACTS.md "Bulk import"): job starts per account per hour, the
    ingest budget of items per hour, rows per ingest / backfill job, file size, the lifetime of
    upload and report URLs; and the emulator's own processing time (a job's set-up seconds,
    then rows per second; ``None``: all rows at once), which monday does not publish."""

    @classmethod
    def for_plan(cls, plan: str, **overrides: Any) -> Limits:
        """monday's limits for ``plan`` (``trial``, ``free``, ``basic``, ``standard``, ``pro``,
        ``enterprise``; see the module docstring), with any field overridden.

        Raises:
            ValueError: an unknown plan.
        """
        try:
            preset = PLANS[plan.lower()]
        except KeyError:
            raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}") from None
        return replace(preset, **overrides)


PLANS: dict[str, Limits] = {
    "trial": Limits(
        complexity_budget=1_000_000, requests_per_minute=1_000, max_concurrency=40, daily_calls=200
    ),
    "free": Limits(
        complexity_budget=1_000_000, requests_per_minute=1_000, max_concurrency=40, daily_calls=200
    ),
    "basic": Limits(requests_per_minute=1_000, max_concurrency=40, daily_calls=1_000),
    "standard": Limits(requests_per_minute=1_000, max_concurrency=40, daily_calls=1_000),
    "pro": Limits(requests_per_minute=2_500, max_concurrency=100, daily_calls=10_000),
    "enterprise": Limits(requests_per_minute=5_000, max_concurrency=250, daily_calls=25_000),
}
"""monday's published figures per plan (FACTS.md "Limits")."""


@dataclass(frozen=True)
class Undocumented:
    """What monday's docs leave open, as switches (FACTS.md marks each **undocumented**).

    The defaults are the emulator's behaviour before these became switches; tests run the
    client against both sides of each.

    Attributes:
        cache_error_answers: an answer refused before execution under an ``Idempotency-Key``
            (a 429 of the complexity budget, an injected 4xx/5xx) is cached and replayed for
            the key like a success (``True``), or forgotten so a retry runs afresh.
        same_key_other_body: a key reused with a different request: ``conflict`` (409
            ``IDEMPOTENCY_CONFLICT`` without ``Retry-After``), ``replay`` (the first answer
            comes back) or ``execute`` (the new request runs, as if the key were new).
        alias_data_with_errors: a multi-mutation answer keeps the data of the aliases that
            worked beside errors naming the others (``True``), or carries ``data: null`` and
            errors without a ``path``, so no alias's fate can be told.
        daily_limit_status: the HTTP status of ``DAILY_LIMIT_EXCEEDED`` (429 or 200).
        archived_in_lookups: ``items_page_by_column_values`` and an item's ``subitems`` also
            list archived items (their ``state`` says so), or only active ones. monday's pages
            on both say nothing about archived items.
        bulk_budget_counts_mutations: items made by ``create_item`` / ``create_subitem`` use
            the 19,000 items per hour that ``ingest_items`` reserves from (``True``), or not.
        bulk_parallel_jobs: import jobs that process at once per account (0: no limit); a
            job uploaded while all slots are busy waits in ``PROCESSING`` at 0%.
    """

    cache_error_answers: bool = False
    same_key_other_body: Literal["conflict", "replay", "execute"] = "conflict"
    alias_data_with_errors: bool = True
    daily_limit_status: int = 429
    archived_in_lookups: bool = False
    bulk_budget_counts_mutations: bool = False
    bulk_parallel_jobs: int = 0

    def __post_init__(self) -> None:
        if self.same_key_other_body not in ("conflict", "replay", "execute"):
            raise ValueError("same_key_other_body is one of conflict, replay, execute")
        if self.daily_limit_status not in (200, 429):
            raise ValueError("daily_limit_status is 200 or 429")
        if self.bulk_parallel_jobs < 0:
            raise ValueError("bulk_parallel_jobs is 0 (no limit) or more")


def parse_undocumented(settings: Iterable[str]) -> Undocumented:
    """``Undocumented`` from ``NAME=VALUE`` strings (``ordersync emulator --undocumented``).

    Raises:
        ValueError: an unknown name or a value of the wrong kind.
    """
    values: dict[str, Any] = {}
    kinds = {f.name: f.type for f in fields(Undocumented)}
    for setting in settings:
        name, _, raw = setting.partition("=")
        name, raw = name.strip(), raw.strip()
        if name not in kinds:
            raise ValueError(f"unknown switch {name!r}; one of {', '.join(kinds)}")
        if kinds[name] == "bool":
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"{name} is true or false, not {raw!r}")
            values[name] = raw.lower() == "true"
        elif kinds[name] == "int":
            values[name] = int(raw)
        else:
            values[name] = raw
    return Undocumented(**values)


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

    def state(self) -> tuple[int, int]:
        """Points left and seconds to the window's reset."""
        with self._lock:
            self._window.roll()
            return self._budget - self._window.used, self._window.reset_in()

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
        *,
        per_ip: int | None = None,
        ip_window: float = 10.0,
    ) -> None:
        self._clock = clock
        self._minute = _Window(clock, 60.0)
        self._per_ip = per_ip
        self._ip_window = ip_window
        self._ips: dict[str, _Window] = {}
        self._per_minute = per_minute
        self._per_day = per_day
        self._wall_now = wall_now
        self._day: int | None = None
        self._day_count = 0
        self._lock = threading.Lock()

    def admit(self, ip: str | None = None) -> None:
        """Count one request, or raise ``Throttled`` if a limit is already reached."""
        with self._lock:
            self._check_ip(ip)
            self._check_day()
            self._minute.roll()
            if self._per_minute is not None and self._minute.used >= self._per_minute:
                raise Throttled(
                    api_errors.RATE_LIMIT, "Rate Limit Exceeded", self._minute.reset_in()
                )
            self._minute.used += 1
            self._day_count += 1

    def minute_state(self) -> tuple[int | None, int]:
        """Requests left this minute (``None``: no limit) and seconds to the minute's reset."""
        with self._lock:
            self._minute.roll()
            left = None if self._per_minute is None else self._per_minute - self._minute.used
            return left, self._minute.reset_in()

    def _check_ip(self, ip: str | None) -> None:
        # monday: 5,000 requests per 10 s from one IP, 429 IP_RATE_LIMIT_EXCEEDED with
        # retry_in_seconds (FACTS.md "Limits"); refused requests count too.
        if self._per_ip is None or ip is None:
            return
        window = self._ips.setdefault(ip, _Window(self._clock, self._ip_window))
        window.roll()
        window.used += 1
        if window.used > self._per_ip:
            raise Throttled(api_errors.IP_RATE_LIMIT, "IP rate limit exceeded", window.reset_in())

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

    def left(self) -> int | None:
        """Slots free now (``None``: no limit)."""
        with self._lock:
            return None if self._limit is None else max(0, self._limit - self._in_flight)

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
    """First answers of mutations by ``Idempotency-Key``, kept ``ttl`` seconds.

    Attributes:
        remember: keep answers at all; ``False`` stands for a monday that keeps none (every
            answer over 1 MB, or the cache budget spent): each request with a key runs anew.
    """

    def __init__(self, clock: Clock, ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.remember = True

    def forget(self) -> None:
        """Drop every key and cached answer, as a restarted monday would."""
        with self._lock:
            self._entries.clear()

    def begin(self, key: str, fingerprint: str) -> tuple[IdempotencyOutcome, HttpAnswer | None]:
        """Claim ``key`` for a new request, or say why not (with the cached answer to replay)."""
        with self._lock:
            self._purge()
            entry = self._entries.get(key)
            if entry is None:
                if self.remember:
                    self._entries[key] = _Entry(fingerprint, None, self._clock.monotonic())
                return IdempotencyOutcome.NEW, None
            if entry.fingerprint != fingerprint:
                return IdempotencyOutcome.CONFLICT, None
            if entry.answer is None:
                return IdempotencyOutcome.IN_FLIGHT, None
            return IdempotencyOutcome.REPLAY, entry.answer

    def begin_with(
        self, key: str, fingerprint: str, same_key_other_body: str
    ) -> tuple[IdempotencyOutcome, HttpAnswer | None]:
        """``begin``, with a reused key's fate chosen by the ``same_key_other_body`` switch
        (``Undocumented``): ``conflict`` as ``begin``; ``replay`` answers the first request's
        cached answer; ``execute`` forgets the first request and runs this one under the key.
        """
        outcome, cached = self.begin(key, fingerprint)
        if outcome is not IdempotencyOutcome.CONFLICT or same_key_other_body == "conflict":
            return outcome, cached
        with self._lock:
            entry = self._entries[key]
            if same_key_other_body == "replay" and entry.answer is not None:
                return IdempotencyOutcome.REPLAY, entry.answer
            if same_key_other_body == "replay":
                return IdempotencyOutcome.IN_FLIGHT, None
            self._entries[key] = _Entry(fingerprint, None, self._clock.monotonic())
            return IdempotencyOutcome.NEW, None

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


def throttled_answer(
    throttle: Throttled, *, legacy: bool, daily_limit_status: int = 429
) -> HttpAnswer:
    """The 429 for a refused request (not complexity, which has its own shape); the daily
    limit's status is ``daily_limit_status`` (undocumented: 429 or 200)."""
    status = daily_limit_status if throttle.code == api_errors.DAILY_LIMIT else 429
    return api_errors.request_error(
        status,
        throttle.code,
        throttle.message,
        legacy=legacy,
        retry_in_seconds=throttle.retry_in_seconds,
    )


def rate_limit_headers(
    limits: Limits, requests: RequestLimiter, concurrency: ConcurrencyGate, budget: ComplexityBudget
) -> dict[str, str]:
    """monday's ``RateLimit-Policy`` and ``RateLimit`` headers (IETF draft form, FACTS.md
    "Versions and headers"): ``q``/``w`` the quota and its window, ``r`` what is left and ``t``
    the seconds to its reset, for ``minuteRate``, ``concurrency`` and ``complexityMinute``."""
    policies, states = [], []
    left, reset = requests.minute_state()
    if left is not None and limits.requests_per_minute is not None:
        policies.append(f'"minuteRate";q={limits.requests_per_minute};w=60')
        states.append(f'"minuteRate";r={max(0, left)};t={reset}')
    free = concurrency.left()
    if free is not None and limits.max_concurrency is not None:
        policies.append(f'"concurrency";q={limits.max_concurrency}')
        states.append(f'"concurrency";r={free}')
    window = math.ceil(limits.complexity_window)
    policies.append(f'"complexityMinute";q={budget.budget};w={window}')
    remaining, reset_in = budget.state()
    states.append(f'"complexityMinute";r={max(0, remaining)};t={reset_in}')
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}
