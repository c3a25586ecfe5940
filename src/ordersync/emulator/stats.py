"""What the emulator has seen: requests, applied mutations, throttles, replays, complexity.

Tests assert on these (``emu.stats.mutations["create_subitem"] == 264``); ``GET
/emulator/stats`` serves ``to_dict()`` for a client running in another process.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmulatorStats:
    """Counters since the emulator started or ``reset_stats()``.

    Attributes:
        requests: GraphQL requests received (every one, refused or not).
        mutations: applied mutation root fields by name, e.g. ``{"create_item": 69}``;
            replays and failed aliases don't count.
        throttled: 429 answers by kind (``COMPLEXITY_BUDGET_EXHAUSTED``, ``RATE_LIMIT_EXCEEDED``,
            ``DAILY_LIMIT_EXCEEDED``, ``maxConcurrencyExceeded``).
        idempotent_replays: answers replayed from the idempotency cache.
        complexity_used: complexity points charged.
        errors: application errors by ``extensions.code``.
        faults: injected faults fired, by kind.
    """

    requests: int = 0
    mutations: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    idempotent_replays: int = 0
    complexity_used: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "mutations": dict(self.mutations),
                "throttled": dict(self.throttled),
                "idempotent_replays": self.idempotent_replays,
                "complexity_used": self.complexity_used,
                "errors": dict(self.errors),
                "faults": dict(self.faults),
            }

    def reset(self) -> None:
        with self.lock:
            self.requests = self.idempotent_replays = self.complexity_used = 0
            for counter in (self.mutations, self.throttled, self.errors, self.faults):
                counter.clear()
