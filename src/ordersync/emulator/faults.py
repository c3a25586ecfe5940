"""Injected faults: the failures a client must survive, on demand.

``Fault(kind, times=1, match=None, ...)`` fires for the next ``times`` requests (``None``: for
ever) whose root fields include ``match`` (any request when ``match`` is ``None``):

* ``status``: answer HTTP ``status`` (500, 502, 503, 423, 429, ...) without applying anything;
  ``retry_in_seconds`` adds ``Retry-After``; ``code`` overrides the error code; ``body``
  answers that text (``text/html``) instead of monday's JSON;
* ``lost_response``: apply the request, then lose the answer (in-process the transport raises
  ``httpx.RemoteProtocolError``; over HTTP the connection closes without an answer);
* ``timeout``: ``httpx.ReadTimeout`` in-process (over HTTP the server holds the connection
  ``delay`` seconds, then closes it); ``after_apply`` says whether the mutation ran first;
* ``partial_errors``: apply, but answer ``data: null`` with errors that name no alias;
* ``alias_error``: apply nothing; HTTP 200 where every root alias fails with ``code`` (e.g.
  ``ItemsLimitationException``, ``DAILY_LIMIT_EXCEEDED``), ``status`` as its reported
  ``status_code`` (default 200);
* faults with ``match="upload"`` strike the bulk import's upload URL instead (``status``:
  refuse it, nothing stored; ``lost_response``: store the file, lose the answer);
* ``latency``: delay the request by ``delay`` seconds (``clock.sleep`` in-process, real sleep
  over HTTP); latency faults add up and don't stop other faults from firing.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

KINDS = frozenset(
    {"status", "lost_response", "timeout", "partial_errors", "latency", "alias_error"}
)


@dataclass
class Fault:
    """One injected fault; see the module docstring for the kinds."""

    kind: str
    times: int | None = 1
    match: str | None = None
    status: int | None = None
    after_apply: bool = False
    retry_in_seconds: int | None = None
    delay: float = 0.0
    code: str | None = None
    body: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.kind == "status" and not (self.status and 400 <= self.status <= 599):
            raise ValueError("a status fault needs an HTTP error status (400-599)")
        if self.kind == "alias_error" and not self.code:
            raise ValueError("an alias_error fault needs a code")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for ever)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """A fault from JSON (``POST /emulator/faults``); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, root_fields: frozenset[str]) -> bool:
        return self.match is None or self.match in root_fields


@dataclass
class FaultPlan:
    """The injected faults still to fire, consumed in injection order; thread-safe.

    ``fired`` counts the faults fired by kind (the emulator passes its stats counter).
    """

    fired: Counter[str] = field(default_factory=Counter)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def latency(self, root_fields: frozenset[str]) -> float:
        """Seconds of injected delay for this request (consumes latency faults)."""
        with self._lock:
            matching = [f for f in self._faults if f.kind == "latency" and f.matches(root_fields)]
            for fault in matching:
                self._consume(fault)
            return sum(fault.delay for fault in matching)

    def take(self, root_fields: frozenset[str]) -> Fault | None:
        """The first other fault that matches this request, consumed once."""
        with self._lock:
            for fault in self._faults:
                if fault.kind != "latency" and fault.matches(root_fields):
                    self._consume(fault)
                    return fault
            return None

    def take_named(self, name: str) -> Fault | None:
        """The first fault (not latency) whose ``match`` is exactly ``name``, consumed once;
        for requests that are not GraphQL (``upload``: the bulk import's pre-signed URL)."""
        with self._lock:
            for fault in self._faults:
                if fault.kind != "latency" and fault.match == name:
                    self._consume(fault)
                    return fault
            return None

    def _consume(self, fault: Fault) -> None:
        self.fired[fault.kind] += 1
        if fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                self._faults.remove(fault)
