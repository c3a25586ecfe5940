"""Test helpers shared across the suite (importable as ``support``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PG_URL = os.environ.get(
    "ORDERSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_SCHEMA = SHARED / "monday" / "schema.graphql"


def require_shared(path: Path) -> None:
    """Skip when a file of ../shared is absent (a clone elsewhere); fail under CI."""
    if path.exists():
        return
    if IN_CI:
        pytest.fail(f"{path} is missing; under CI=true it must be present")
    pytest.skip(f"{path} not present (clone outside the workspace)")
