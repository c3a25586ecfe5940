"""Complexity: what a request costs, computed from the document before anything runs.

monday prices a query by what it could return, not what it does return. The emulator's formula,
after monday's published weights (community post "Complexity Field Weights": scalar 1, object
10; ids count before limits) and DESIGN.md (``create_item`` about 10,000 points):

* a scalar or enum field costs 1; ``complexity`` and ``__typename`` are free;
* an object field costs 10 plus the cost of its selection;
* a list field multiplies that by its size: ``len(ids)`` when ids are given, else ``limit``
  (``boards``, ``items``; default 25), the page ``limit`` for the ``items`` of
  ``items_page``/``next_items_page``/``items_page_by_column_values``, else a fixed estimate
  (``column_values``/``columns`` 30, ``subitems`` 50, ``groups`` 10, other lists 10);
* each mutation root field adds its own price (``MUTATION_COSTS``) to the cost of its selection.

So ``create_item(...) { id }`` costs 10,011 and a page of 500 items with ``id name`` and
``column_values(ids: [a, b]) { id text value }`` costs 500 × (10 + 2 + 2 × (10 + 3)) = 19,000.
"""

from __future__ import annotations

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
MUTATION_COSTS = {
    "create_item": 10_000,
    "create_subitem": 10_000,
    "change_multiple_column_values": 10_000,
    "archive_item": 10_000,
    "delete_item": 10_000,
    "create_group": 1_000,
    "create_webhook": 1_000,
}
LIST_ESTIMATES = {"column_values": 30, "columns": 30, "subitems": 50, "groups": 10}
PAGED_FIELDS = frozenset({"items_page", "next_items_page", "items_page_by_column_values"})
FREE_FIELDS = frozenset({"complexity", "__typename"})


class ComplexityCalculator:
    """Prices one operation of a validated document with coerced variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any],
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def cost(self, operation: OperationDefinitionNode) -> int:
        is_mutation = operation.operation.value == "mutation"
        root = self._schema.mutation_type if is_mutation else self._schema.query_type
        assert root is not None
        total = 0
        for node, parent in self._fields(operation.selection_set, root):
            total += self._field_cost(node, parent, page_size=None)
            if is_mutation:
                total += MUTATION_COSTS.get(node.name.value, 0)
        return total

    def _field_cost(self, node: FieldNode, parent: Any, page_size: int | None) -> int:
        name = node.name.value
        if name in FREE_FIELDS:
            return 0
        field = parent.fields[name]
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return SCALAR_COST
        args = get_argument_values(field, node, self._variables)
        child_page = self._page_size(args) if name in PAGED_FIELDS else None
        cost = OBJECT_COST
        if node.selection_set is not None:
            for child, child_parent in self._fields(node.selection_set, named):
                cost += self._field_cost(child, child_parent, child_page)
        if _is_list(field.type):
            cost *= self._list_size(name, args, page_size)
        return cost

    def _list_size(self, name: str, args: dict[str, Any], page_size: int | None) -> int:
        if args.get("ids"):
            return len(args["ids"])
        if name == "items" and page_size is not None:
            return page_size
        if name in ("boards", "items"):
            return self._page_size(args)
        return LIST_ESTIMATES.get(name, DEFAULT_LIST_SIZE)

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
