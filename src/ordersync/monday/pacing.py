"""Pacing: wait for monday's complexity budget to reset instead of running into it.

monday asks clients to stay under the per-minute complexity budget rather than bounce off
it with 429s. Every request the client sends selects ``complexity { before query after
reset_in_x_seconds }``; the ``Pacer`` keeps the last remaining budget and the cost seen per
alias of each kind (``create_item``, ``create_subitem``, a read's operation name ...), and
says how long to wait before a request whose estimated cost exceeds what remains. It holds
no clock: callers pass ``now`` (``Clock.monotonic()``) and do the sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping

from ordersync.monday.models import Complexity

__all__ = ["DEFAULT_MUTATION_COST", "DEFAULT_READ_COST", "Pacer"]

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
    }
)


class Pacer:
    """Remembers the complexity budget and estimates what the next request will cost."""

    def __init__(self) -> None:
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._cost_per_alias: dict[str, float] = {}

    @property
    def remaining(self) -> int | None:
        """The last known remaining budget, ``None`` when unknown or reset since."""
        return self._remaining

    def estimate(self, kinds: Mapping[str, int]) -> float:
        """Estimated cost of a request carrying ``kinds`` (kind → number of aliases)."""
        total = 0.0
        for kind, count in kinds.items():
            default = DEFAULT_MUTATION_COST if kind in MUTATION_KINDS else DEFAULT_READ_COST
            total += count * self._cost_per_alias.get(kind, default)
        return total

    def delay(self, kinds: Mapping[str, int], now: float) -> float:
        """Seconds to wait before sending a request carrying ``kinds``; 0 to send now."""
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
        aliases = sum(kinds.values())
        if aliases > 0 and complexity.query > 0:
            per_alias = complexity.query / aliases
            for kind in kinds:
                self._cost_per_alias[kind] = per_alias
