"""Fixtures for the emulator's tests: a manual clock, an emulator, and a plain GraphQL poster.

The poster is deliberately not ordersync's client: plain httpx posting documents, so the
emulator is tested as monday would be.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import Emulator

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared"


def _shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        message = f"{path} is not present (a fresh clone outside the project's machines)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_monday_sdk() -> None:
    """monday's own Python SDK (a dev dependency); skips when absent, fails under CI."""
    try:
        import monday_sdk  # noqa: F401
    except ImportError:
        message = "monday-api-python-sdk is not installed (make .venv/.installed installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def shared_file() -> Callable[[str], Path]:
    """A file of ``../shared``; skips when absent, except under CI where that is a failure."""
    return _shared_file


class Poster:
    """Posts GraphQL documents to ``/v2`` the way any monday client does."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return self.client.post("/v2", json=payload, headers=headers or {})

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a request that must succeed without errors."""
        response = self(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Emulator:
    return Emulator(clock=clock, epoch=EPOCH)


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as client:
        yield client


@pytest.fixture
def gql(client: httpx.Client) -> Poster:
    return Poster(client)
