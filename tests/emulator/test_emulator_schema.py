"""The emulator's schema is a strict subset of monday's published schema (API 2026-10)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    print_ast,
)

EMULATOR_SDL = resources.files("ordersync.emulator").joinpath("schema.graphql").read_text()


def _default(arg: GraphQLArgument | GraphQLInputField) -> str | None:
    node = arg.ast_node.default_value if arg.ast_node is not None else None
    return None if node is None else print_ast(node)


def _required(arg: GraphQLArgument | GraphQLInputField) -> bool:
    return isinstance(arg.type, GraphQLNonNull) and _default(arg) is None


def _compare_inputs(
    where: str,
    ours: dict[str, GraphQLArgument] | dict[str, GraphQLInputField],
    theirs: dict[str, GraphQLArgument] | dict[str, GraphQLInputField],
) -> list[str]:
    problems = []
    for name, arg in ours.items():
        other = theirs.get(name)
        if other is None:
            problems.append(f"{where}({name}) is not in monday's schema")
        elif str(arg.type) != str(other.type) or _default(arg) != _default(other):
            problems.append(
                f"{where}({name}): ours {arg.type} = {_default(arg)}, "
                f"monday's {other.type} = {_default(other)}"
            )
    for name, other in theirs.items():
        if name not in ours and _required(other):
            problems.append(f"{where}({name}) is required by monday but missing from ours")
    return problems


def _compare_type(name: str, ours: object, theirs: object) -> list[str]:
    if type(ours) is not type(theirs):
        return [f"{name} is a {type(ours).__name__}, monday's a {type(theirs).__name__}"]
    problems: list[str] = []
    if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType)
        their_interfaces = {i.name for i in theirs.interfaces}
        problems += [
            f"{name} implements {i.name}, monday's doesn't"
            for i in ours.interfaces
            if i.name not in their_interfaces
        ]
        for field_name, field in ours.fields.items():
            other = theirs.fields.get(field_name)
            if other is None:
                problems.append(f"{name}.{field_name} is not in monday's schema")
                continue
            if str(field.type) != str(other.type):
                problems.append(f"{name}.{field_name}: ours {field.type}, monday's {other.type}")
            problems += _compare_inputs(f"{name}.{field_name}", field.args, other.args)
    elif isinstance(ours, GraphQLInputObjectType):
        assert isinstance(theirs, GraphQLInputObjectType)
        problems += _compare_inputs(name, ours.fields, theirs.fields)
    elif isinstance(ours, GraphQLEnumType):
        assert isinstance(theirs, GraphQLEnumType)
        problems += [
            f"{name}.{v} is not in monday's enum" for v in ours.values if v not in theirs.values
        ]
    elif isinstance(ours, GraphQLUnionType):
        assert isinstance(theirs, GraphQLUnionType)
        their_members = {t.name for t in theirs.types}
        problems += [
            f"{name} | {t.name} not in monday's" for t in ours.types if t.name not in their_members
        ]
    return problems


def subset_problems(ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Everything in ``ours`` that monday's schema lacks or types differently."""
    problems = []
    for root in ("query_type", "mutation_type"):
        our_root, their_root = getattr(ours, root), getattr(theirs, root)
        if our_root is not None and (their_root is None or our_root.name != their_root.name):
            problems.append(f"root {root} differs")
    for name, our_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        their_type = theirs.type_map.get(name)
        if their_type is None:
            problems.append(f"type {name} is not in monday's schema")
        else:
            problems += _compare_type(name, our_type, their_type)
    return problems


@pytest.fixture(scope="module")
def monday_schema(shared_file: Callable[[str], Path]) -> GraphQLSchema:
    return build_schema(shared_file("monday/schema.graphql").read_text())


def test_emulator_schema_builds_and_declares_the_fields_ordersync_uses() -> None:
    schema = build_schema(EMULATOR_SDL)
    assert schema.query_type is not None and schema.mutation_type is not None
    assert {"boards", "items", "next_items_page", "items_page_by_column_values"} <= set(
        schema.query_type.fields
    )
    assert {"create_item", "create_subitem", "change_multiple_column_values"} <= set(
        schema.mutation_type.fields
    )


@pytest.mark.schema
def test_emulator_schema_is_a_subset_of_mondays(monday_schema: GraphQLSchema) -> None:
    assert subset_problems(build_schema(EMULATOR_SDL), monday_schema) == []


@pytest.mark.schema
def test_subset_check_notices_differences(monday_schema: GraphQLSchema) -> None:
    tampered = EMULATOR_SDL.replace("item_name: String!", "item_name: String").replace(
        "  is_empty\n", "  is_empty\n  bogus_operator\n"
    )
    tampered += "\ntype Imaginary { id: ID! }\n"
    tampered = tampered.replace("create_group(board_id: ID!, group_name: String!)", "create_group")
    problems = subset_problems(build_schema(tampered), monday_schema)
    assert any("create_item(item_name)" in p for p in problems)
    assert any("bogus_operator" in p for p in problems)
    assert any("Imaginary" in p for p in problems)
    assert any("create_group(board_id) is required" in p for p in problems)
