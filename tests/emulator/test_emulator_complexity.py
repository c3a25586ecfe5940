"""The complexity formula prices documents before they run (see ``complexity``'s docstring)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_operation_ast, parse

from emulator.conftest import Poster
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.emulator.complexity import (
    SUBITEMS_ESTIMATE,
    UNKNOWN_COLUMNS,
    ComplexityCalculator,
)
from ordersync.emulator.execution import board_facts, load_schema
from ordersync.emulator.seed import CMS_COLUMNS, CMS_SUBITEM_COLUMNS


def _cost(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    return ComplexityCalculator(load_schema(), parsed, variables or {}).cost(operation)


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        ('mutation { create_item(board_id: 1, item_name: "x") { id } }', None, 10_011),
        (
            'mutation { a: create_item(board_id: 1, item_name: "x") { id } '
            'b: create_subitem(parent_item_id: 1, item_name: "y") { id board { id } } }',
            None,
            10_011 + 10_022,
        ),
        ('mutation { create_group(board_id: 1, group_name: "g") { id } }', None, 1_011),
        ("query { complexity { before after query } }", None, 0),
        ("query { boards(ids: [1]) { id } }", None, 11),
        ("query { boards { id } }", None, 25 * 11),
        (
            "query ($c: String!) { next_items_page(cursor: $c, limit: 500) "
            '{ cursor items { id name column_values(ids: ["a", "b"]) { id text value } } } }',
            {"c": "x"},
            10 + 1 + 500 * (10 + 2 + 2 * 13),
        ),
        (
            "query ($n: Int!) { boards(ids: [1]) { items_page(limit: $n) { items { id } } } }",
            {"n": 100},
            10 + 10 + 100 * 11,
        ),
        (
            "query { items(ids: [1, 2]) "
            "{ column_values { id ... on StatusValue { label index } } } }",
            None,
            2 * (10 + 30 * (10 + 3)),
        ),
    ],
)
def test_costs(document: str, variables: dict[str, Any] | None, cost: int) -> None:
    assert _cost(document, variables) == cost


# --- estimates from the boards a query names (monday's 2025-10 "based on the variables") ---

ITEM_COLUMNS = sum(1 for c in CMS_COLUMNS if c.type != "name")
SUBITEM_COLUMNS = len(CMS_SUBITEM_COLUMNS)


def _board_cost(emu: Emulator, document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    facts = board_facts(emu.store, emu.service._cursors)
    return ComplexityCalculator(load_schema(), parsed, variables or {}, facts).cost(operation)


def test_column_values_count_the_columns_of_the_board_named(emu: Emulator) -> None:
    document = "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 2) { items { %s } } } }"
    values = "column_values { id text }"
    assert _board_cost(emu, document % values, {"b": [CMS_BOARD_ID]}) == (
        10 + 10 + 2 * (10 + ITEM_COLUMNS * 12)
    )
    subitems = "subitems { column_values { id } }"
    assert _board_cost(emu, document % subitems, {"b": [CMS_BOARD_ID]}) == (
        10 + 10 + 2 * (10 + SUBITEMS_ESTIMATE * (10 + SUBITEM_COLUMNS * 11))
    )
    # no board named: the fixed estimate
    assert _cost("query ($i: ID!) { items(ids: [$i]) { column_values { id } } }", {"i": 1}) == (
        10 + UNKNOWN_COLUMNS * 11
    )


def test_a_cursor_prices_by_its_board_and_introspection_is_free(gql: Poster, emu: Emulator) -> None:
    for name in ("a", "b"):
        gql.data(
            "mutation ($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }",
            {"b": str(CMS_BOARD_ID), "n": name},
        )
    page = gql.data(
        "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 1) { cursor } } }",
        {"b": [CMS_BOARD_ID]},
    )
    cursor = page["boards"][0]["items_page"]["cursor"]
    document = (
        "query ($c: String!) { next_items_page(cursor: $c, limit: 1) "
        "{ items { column_values { id } } } }"
    )
    assert _board_cost(emu, document, {"c": cursor}) == 10 + (10 + ITEM_COLUMNS * 11)
    assert _board_cost(emu, "{ __schema { types { name fields { name } } } }") == 0


def test_complexity_reports_what_was_charged(gql: Poster, emu: Emulator) -> None:
    document = (
        "query ($b: [ID!]) { complexity { before query after } "
        "boards(ids: $b) { items_page(limit: 500) { items { id column_values { id text } "
        "subitems { id column_values { text } } } } } }"
    )
    data = gql.data(document, {"b": [CMS_BOARD_ID]})
    reported = data["complexity"]
    assert reported["query"] == _board_cost(emu, document, {"b": [CMS_BOARD_ID]})
    assert reported["query"] == emu.stats.complexity_used
    assert reported["before"] - reported["after"] == reported["query"]
