"""Fixtures for the monday client tests: a scripted mock monday, a manual clock, the schema."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monday.scripted_monday import SCHEMA_PATH, TOKEN, URL, ScriptedMonday
from ordersync.clock import ManualClock
from ordersync.monday import MondayClient


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def monday() -> ScriptedMonday:
    return ScriptedMonday()


@pytest.fixture
def make_client(
    monday: ScriptedMonday, clock: ManualClock
) -> Iterator[Callable[..., MondayClient]]:
    """Build clients on the scripted monday; closed after the test."""
    clients: list[MondayClient] = []

    def build(**overrides: Any) -> MondayClient:
        token = overrides.pop("token", TOKEN)
        options: dict[str, Any] = {
            "transport": httpx.MockTransport(monday),
            "clock": clock,
            "rng": random.Random(7),
        }
        options.update(overrides)
        client = MondayClient(URL, token, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., MondayClient]) -> MondayClient:
    return make_client()


def load_schema(path: Path) -> str:
    """The schema's text; skips where absent, except under ``CI=true`` where that fails."""
    if not path.is_file():
        reason = f"monday schema not found at {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def schema_loader() -> Callable[[Path], str]:
    return load_schema


@pytest.fixture(scope="session")
def schema_sdl() -> str:
    """monday's real schema, from ``../shared/monday/schema.graphql`` beside the repo."""
    return load_schema(SCHEMA_PATH)
