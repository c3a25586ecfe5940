"""The complexity formula prices documents before they run (see ``complexity``'s docstring)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_operation_ast, parse

from ordersync.emulator.complexity import ComplexityCalculator
from ordersync.emulator.execution import load_schema


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
