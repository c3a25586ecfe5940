"""Complexity: what a request costs, estimated from the document and the boards it names.

monday publishes the limits (5,000,000 points per query, 10,000,000 a minute for a personal
token; ``create_item`` about 10,000 points: developer.monday.com "Rate limits" and "Development
best practices") but not the read prices, which clients learn from ``complexity { query }``.
Since API 2025-10 monday estimates a query "based on the variables you provide" and settles the
charge on what came back (changelog "Improved API complexity calculation", 2025-09-04). The
emulator's model, every number of it the emulator's own choice unless a source is named:

* a scalar or enum field costs 1 and an object field 10 plus its selection (community post
  "Complexity Field Weights"); ``complexity``, ``__typename`` and introspection are free;
* a list field multiplies by its size, estimated as monday says, from the variables: ``len(ids)``
  when ids are given; else the ``limit`` (``boards``, ``items``: default 25; the ``items`` of
  ``items_page``/``next_items_page``/``items_page_by_column_values`` count the page ``limit``);
* ``column_values`` and ``columns`` without ids count the columns of the boards the query names
  (``boards(ids:)``, the board of an ``items_page`` cursor, ``board_id``, the boards of
  ``items(ids:)``; a subitem's columns are those of the subitems board; the widest board when
  several; ``UNKNOWN_COLUMNS`` when the query names none), the ``name`` column excluded;
* ``subitems`` counts ``SUBITEMS_ESTIMATE`` per item (monday's estimate is not published; it must
  admit monday's own Python SDK's default board read: 500 items with every column value and
  their subitems' values, which real monday accepts: ../shared/monday/FACTS.md "Limits");
  ``groups`` and other lists ``DEFAULT_LIST_SIZE``;
* each mutation root field adds its own price (``MUTATION_COSTS``) to its selection's.

The estimate is what the emulator refuses over the per-query maximum, charges, and reports in
``complexity { query before after }``; unlike monday it is not settled afterwards on what came
back, so the emulator charges at least as much as monday would for a full page.

So ``create_item(...) { id }`` costs 10,011; a page of 500 items with ``id name`` and
``column_values(ids: [a, b]) { id text value }`` costs 500 × (10 + 2 + 2 × (10 + 3)) = 19,000;
and the SDK's default read of the Customer Master Schedule board (49 columns besides the name,
10 on its subitems board) about 2.2M, under the 5M cap (about 20M under the model before, which
counted 30 columns and 50 subitems whatever the board).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

SCALAR_COST = 1
OBJECT_COST = 10
DEFAULT_LIST_SIZE = 10
DEFAULT_LIMIT = 25
UNKNOWN_COLUMNS = 30
SUBITEMS_ESTIMATE = 10
MUTATION_COSTS = {
    "create_item": 10_000,
    "create_subitem": 10_000,
    "change_multiple_column_values": 10_000,
    "change_column_value": 10_000,
    "change_simple_column_value": 10_000,
    "move_item_to_group": 10_000,
    "archive_item": 10_000,
    "delete_item": 10_000,
    "create_board": 10_000,
    "duplicate_board": 10_000,
    "create_column": 1_000,
    "update_status_column": 1_000,
    "update_dropdown_column": 1_000,
    "create_group": 1_000,
    "create_webhook": 1_000,
}
PAGED_FIELDS = frozenset({"items_page", "next_items_page", "items_page_by_column_values"})
COLUMN_LISTS = frozenset({"column_values", "columns"})
FREE_FIELDS = frozenset({"complexity", "__typename", "__schema", "__type"})

Boards = frozenset[str]
"""The ids of the boards a selection reads from (empty: not known)."""


@dataclass(frozen=True)
class BoardFacts:
    """What pricing may know of the account's boards (the store answers; tests may fake it)."""

    column_count: Callable[[Boards, list[str] | None], int | None]
    """Columns (``name`` excluded) of the widest of these boards, of ``types`` if given."""
    boards_of_items: Callable[[Iterable[Any]], Boards]
    board_of_cursor: Callable[[str], Boards]
    subitems_boards: Callable[[Boards], Boards]


NO_FACTS = BoardFacts(
    column_count=lambda boards, types: None,
    boards_of_items=lambda ids: frozenset(),
    board_of_cursor=lambda cursor: frozenset(),
    subitems_boards=lambda boards: frozenset(),
)


class ComplexityCalculator:
    """Prices one operation of a validated document with coerced variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any],
        facts: BoardFacts = NO_FACTS,
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._facts = facts
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def cost(self, operation: OperationDefinitionNode) -> int:
        is_mutation = operation.operation.value == "mutation"
        root = self._schema.mutation_type if is_mutation else self._schema.query_type
        assert root is not None
        total = 0
        for node, parent in self._fields(operation.selection_set, root):
            total += self._field_cost(node, parent, page_size=None, boards=frozenset())
            if is_mutation:
                total += MUTATION_COSTS.get(node.name.value, 0)
        return total

    def _field_cost(
        self, node: FieldNode, parent: Any, page_size: int | None, boards: Boards
    ) -> int:
        name = node.name.value
        if name in FREE_FIELDS or name.startswith("__"):
            return 0
        field = parent.fields[name]
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return SCALAR_COST
        args = get_argument_values(field, node, self._variables)
        boards = self._scope(name, args, boards)
        child_page = self._page_size(args) if name in PAGED_FIELDS else None
        cost = OBJECT_COST
        if node.selection_set is not None:
            for child, child_parent in self._fields(node.selection_set, named):
                cost += self._field_cost(child, child_parent, child_page, boards)
        if _is_list(field.type):
            cost *= self._list_size(name, args, page_size, boards)
        return cost

    def _scope(self, name: str, args: dict[str, Any], boards: Boards) -> Boards:
        """The boards a field's selection reads from."""
        facts = self._facts
        if name == "boards" and args.get("ids"):
            return frozenset(str(i) for i in args["ids"])
        if "board_id" in args:
            return frozenset({str(args["board_id"])})
        if name == "next_items_page" or (name in PAGED_FIELDS and args.get("cursor")):
            return facts.board_of_cursor(str(args["cursor"]))
        if name == "items" and args.get("ids"):
            return facts.boards_of_items(args["ids"])
        if name == "create_subitem":
            return facts.subitems_boards(facts.boards_of_items([args["parent_item_id"]]))
        if args.get("item_id") is not None:
            return facts.boards_of_items([args["item_id"]])
        if name == "subitems":
            return facts.subitems_boards(boards)
        return boards

    def _list_size(
        self, name: str, args: dict[str, Any], page_size: int | None, boards: Boards
    ) -> int:
        if args.get("ids"):
            return len(args["ids"])
        if name == "items" and page_size is not None:
            return page_size
        if name in ("boards", "items"):
            return self._page_size(args)
        if name in COLUMN_LISTS:
            counted = self._facts.column_count(boards, args.get("types")) if boards else None
            return UNKNOWN_COLUMNS if counted is None else counted
        if name == "subitems":
            return SUBITEMS_ESTIMATE
        return DEFAULT_LIST_SIZE

    @staticmethod
    def _page_size(args: dict[str, Any]) -> int:
        limit = args.get("limit")
        return max(int(limit), 0) if isinstance(limit, int) else DEFAULT_LIMIT

    def _fields(self, selection_set: SelectionSetNode, parent: Any) -> list[tuple[FieldNode, Any]]:
        """``(field, type it belongs to)`` for a selection set, fragments expanded.

        Fields under ``... on StatusValue`` belong to ``StatusValue`` (the interface lacks
        them); every type condition is counted, as the price is set before execution.
        """
        fields: list[tuple[FieldNode, Any]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append((selection, parent))
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                condition, sub_selection = fragment.type_condition, fragment.selection_set
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition, sub_selection = selection.type_condition, selection.selection_set
            target = self._schema.get_type(condition.name.value) if condition else parent
            fields.extend(self._fields(sub_selection, target))
        return fields


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
