"""Pacing: wait for monday's limits to reset instead of running into them.

monday asks clients to stay under its limits rather than bounce off them with 429s, and says
where they stand in two ways, both read here:

* the ``complexity { before query after reset_in_x_seconds }`` field each request selects:
  the ``Pacer`` keeps the last remaining budget and the cost seen per alias of each kind
  (``create_item``, ``create_subitem``, a read's operation name ...) and waits before a
  request whose estimated cost exceeds what remains;
* the ``RateLimit-Policy`` / ``RateLimit`` headers of every answer (IETF draft
  ``draft-ietf-httpapi-ratelimit-headers`` form, FACTS.md "Versions and headers"), e.g.
  ``RateLimit: "minuteRate";r=0;t=12, "complexityMinute";r=940000;t=12``: ``r`` is what is
  left, ``t`` the seconds to its reset. A policy with nothing left waits out its ``t``;
  ``complexityMinute`` also stands for the remaining complexity budget. ``concurrency`` is
  not waited on (the client sends one request at a time).

It holds no clock: callers pass ``now`` (``Clock.monotonic()``) and do the sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ordersync.monday.models import Complexity

__all__ = [
    "DEFAULT_MUTATION_COST",
    "DEFAULT_READ_COST",
    "Pacer",
    "RateLimitItem",
    "parse_rate_limit_header",
]

DEFAULT_MUTATION_COST = 10_000
"""Estimated points per mutation alias before one of its kind was measured (monday's
rate-limit docs put ``create_item`` at about 10,000)."""

DEFAULT_READ_COST = 1
"""Estimated points of a read before one was measured: only an exhausted budget waits."""

MUTATION_KINDS = frozenset(
    {
        "create_item",
        "create_subitem",
        "change_multiple_column_values",
        "archive_item",
        "create_group",
        "move_item_to_group",
    }
)


COMPLEXITY_POLICY = "complexityMinute"
UNPACED_POLICIES = frozenset({"concurrency"})
_LIST_MEMBER = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z*][A-Za-z0-9_.:/%*-]*))((?:\s*;[^,;]*)*)'
)


@dataclass(frozen=True)
class RateLimitItem:
    """One member of a ``RateLimit`` or ``RateLimit-Policy`` header.

    Attributes:
        name: the policy (``minuteRate``, ``concurrency``, ``complexityMinute``, ...).
        params: its parameters as integers (``r``, ``t`` in ``RateLimit``; ``q``, ``w`` in
            ``RateLimit-Policy``); unreadable values are left out.
    """

    name: str
    params: dict[str, int]


def parse_rate_limit_header(value: str | None) -> list[RateLimitItem]:
    """The members of a ``RateLimit`` / ``RateLimit-Policy`` header (a structured-field list).

    Names may be quoted strings or tokens; malformed members are skipped, never raised on.
    """
    items: list[RateLimitItem] = []
    for member in (value or "").split(","):
        match = _LIST_MEMBER.fullmatch(member.strip())
        if not match:
            continue
        name = match.group(1) if match.group(1) is not None else match.group(2)
        params: dict[str, int] = {}
        for parameter in match.group(3).split(";"):
            key, _, raw = parameter.strip().partition("=")
            try:
                params[key.strip()] = int(float(raw.strip().strip('"')))
            except ValueError:
                continue
        items.append(RateLimitItem(name, params))
    return items


class Pacer:
    """Remembers the complexity budget and estimates what the next request will cost."""

    def __init__(self) -> None:
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._cost_per_alias: dict[str, float] = {}
        self._exhausted_until: dict[str, float] = {}
        self._most_left = 0  # the most points ever left in a window: the budget is no less
        self.policies: dict[str, dict[str, int]] = {}
        """The last ``RateLimit-Policy`` seen: policy → ``{"q": quota, "w": window}``."""

    @property
    def remaining(self) -> int | None:
        """The last known remaining budget, ``None`` when unknown or reset since."""
        return self._remaining

    def left(self, now: float) -> int | None:
        """Points left in the current window at ``now``; ``None`` when unknown or reset since."""
        if self._remaining is None or self._reset_at is None or now >= self._reset_at:
            return None
        return self._remaining

    @property
    def budget(self) -> int | None:
        """Points a whole window holds: ``complexityMinute``'s ``q``; without that policy,
        the most ever left in a window (a lower bound); ``None`` before any answer."""
        return self.policies.get(COMPLEXITY_POLICY, {}).get("q") or self._most_left or None

    def alias_cost(self, kind: str) -> float | None:
        """Points one alias of ``kind`` cost in the last request carrying it, if measured."""
        return self._cost_per_alias.get(kind)

    def estimate(self, kinds: Mapping[str, int]) -> float:
        """Estimated cost of a request carrying ``kinds`` (kind → number of aliases)."""
        total = 0.0
        for kind, count in kinds.items():
            default = DEFAULT_MUTATION_COST if kind in MUTATION_KINDS else DEFAULT_READ_COST
            total += count * self._cost_per_alias.get(kind, default)
        return total

    def delay(self, kinds: Mapping[str, int], now: float) -> float:
        """Seconds to wait before sending a request carrying ``kinds``; 0 to send now."""
        waits = [until - now for until in self._exhausted_until.values() if until > now]
        return max([self._budget_delay(kinds, now), *waits])

    def _budget_delay(self, kinds: Mapping[str, int], now: float) -> float:
        if self._remaining is None or self._reset_at is None:
            return 0.0
        if now >= self._reset_at:
            self._remaining = None
            return 0.0
        if self.estimate(kinds) <= self._remaining:
            return 0.0
        return self._reset_at - now

    def observe(self, complexity: Complexity, kinds: Mapping[str, int], now: float) -> None:
        """Record the complexity report of an answer to a request carrying ``kinds``.

        The request's cost is shared equally among its aliases; a request of one kind (the
        usual case: a batch of ``create_subitem``) measures that kind exactly.
        """
        self._remaining = complexity.after
        self._reset_at = now + complexity.reset_in_seconds
        self._most_left = max(self._most_left, complexity.before)
        aliases = sum(kinds.values())
        if aliases > 0 and complexity.query > 0:
            per_alias = complexity.query / aliases
            for kind in kinds:
                self._cost_per_alias[kind] = per_alias

    def observe_headers(self, headers: Mapping[str, str], now: float) -> None:
        """Record an answer's ``RateLimit`` and ``RateLimit-Policy`` headers (any answer,
        errors included: a 429 says best when the minute resets)."""
        for policy in parse_rate_limit_header(headers.get("RateLimit-Policy")):
            self.policies[policy.name] = policy.params
        for state in parse_rate_limit_header(headers.get("RateLimit")):
            remaining, reset = state.params.get("r"), state.params.get("t")
            if remaining is None or reset is None or state.name in UNPACED_POLICIES:
                continue
            if state.name == COMPLEXITY_POLICY:
                self._remaining, self._reset_at = remaining, now + reset
                self._most_left = max(self._most_left, remaining)
            elif remaining <= 0:
                self._exhausted_until[state.name] = now + reset
            else:
                self._exhausted_until.pop(state.name, None)
