"""The emulator serves monday's own schema (API 2026-10): a byte-identical copy of it."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from graphql import build_schema

EMULATOR_SDL = resources.files("ordersync.emulator").joinpath("schema.graphql").read_bytes()


@pytest.mark.schema
def test_emulator_schema_is_mondays_schema_byte_for_byte(
    shared_file: Callable[[str], Path],
) -> None:
    assert shared_file("monday/schema.graphql").read_bytes() == EMULATOR_SDL


def test_emulator_schema_declares_what_the_official_clients_call() -> None:
    schema = build_schema(EMULATOR_SDL.decode("utf-8"))
    assert schema.query_type is not None and schema.mutation_type is not None
    assert {"boards", "items", "next_items_page", "items_page_by_column_values", "me"} <= set(
        schema.query_type.fields
    )
    assert {
        "create_item",
        "create_subitem",
        "change_multiple_column_values",
        "change_column_value",
        "change_simple_column_value",
        "move_item_to_group",
        "create_board",
        "create_column",
        "duplicate_board",
    } <= set(schema.mutation_type.fields)
