"""Test doubles for the monday client: a scripted monday that records requests, canned answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

URL = "https://api.monday.test/v2"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token-value.sig"
SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "monday" / "schema.graphql"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def answer(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    """A canned monday answer (JSON body unless ``text`` is given)."""
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def complexity(after: int = 9_000_000, query: int = 30_000, reset: int = 40) -> dict[str, int]:
    """A ``complexity`` report as monday selects it."""
    return {"before": after + query, "query": query, "after": after, "reset_in_x_seconds": reset}


@dataclass
class ScriptedMonday:
    """An httpx handler that plays answers in order and records every request."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError("monday was asked more often than the test expected")
        nxt = self.answers.pop(0)
        if isinstance(nxt, Exception):
            raise nxt
        if callable(nxt) and not isinstance(nxt, httpx.Response):
            return nxt(request)
        return nxt

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON payloads sent, in order."""
        return [json.loads(request.content) for request in self.requests]
