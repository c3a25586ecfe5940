"""Documents: values only as variables, aliases kept apart, everything valid against monday."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from ordersync.monday import documents
from ordersync.monday.documents import ReadShape, build_mutation_document

NASTY = 'B\'HOOD "x" } mutation { delete_board(board_id: 1) { id } } $a1 \\'


@pytest.fixture(scope="module")
def schema(schema_sdl: str) -> GraphQLSchema:
    return build_schema(schema_sdl)


EVERY_DOCUMENT = (*documents.ALL_DOCUMENTS, *documents.WEBHOOK_DOCUMENTS)


@pytest.mark.schema
@pytest.mark.parametrize(("name", "document"), EVERY_DOCUMENT, ids=[n for n, _ in EVERY_DOCUMENT])
def test_every_document_is_valid_against_monday_schema(
    schema: GraphQLSchema, name: str, document: str
) -> None:
    assert validate(schema, parse(document)) == []


def test_all_documents_cover_every_builder_and_read() -> None:
    text = "\n".join(document for _, document in documents.all_documents())
    for field in (
        "create_item(",
        "create_subitem(",
        "change_multiple_column_values(",
        "archive_item(",
        "create_group(",
        "items_page(",
        "next_items_page(",
        "items_page_by_column_values(",
        "items(ids:",
        "boards(ids:",
    ):
        assert field in text
    assert sum(1 for _ in documents.read_shapes()) == 6


def test_values_travel_only_as_variables() -> None:
    mutations = [
        documents.create_item(
            "a1",
            board_id=4755559751,
            item_name=NASTY,
            group_id=NASTY,
            column_values={"text_mkr5wya6": NASTY},
        ),
        documents.create_subitem("a2", parent_item_id=9, item_name=NASTY, column_values={}),
        documents.create_group("a3", board_id=1, group_name=NASTY),
    ]
    document, variables = build_mutation_document(mutations, "Deliver")
    assert NASTY not in document
    assert "4755559751" not in document
    assert variables["a1_item_name"] == NASTY
    assert variables["a1_group_id"] == NASTY
    assert variables["a1_board_id"] == "4755559751"
    assert json.loads(variables["a1_column_values"]) == {"text_mkr5wya6": NASTY}
    assert variables["a2_parent_item_id"] == "9"
    assert variables["a3_group_name"] == NASTY


def test_document_shape() -> None:
    document, variables = build_mutation_document(
        [
            documents.archive_item("a1", item_id=5),
            documents.change_multiple_column_values(
                "a2",
                board_id=1,
                item_id=6,
                column_values={"numeric_mkra7j8e": "12"},
                create_labels_if_missing=True,
            ),
        ],
        "Archive",
    )
    assert document.startswith("mutation Archive(")
    assert "complexity { before query after reset_in_x_seconds }" in document
    assert "a1: archive_item(item_id: $a1_item_id) { id }" in document
    assert "a2: change_multiple_column_values(" in document
    assert variables == {
        "a1_item_id": "5",
        "a2_board_id": "1",
        "a2_item_id": "6",
        "a2_column_values": '{"numeric_mkra7j8e":"12"}',
        "a2_create_labels_if_missing": True,
    }


def test_optional_arguments_are_left_out() -> None:
    mutation = documents.create_item("a1", board_id=1, item_name="x", column_values={})
    assert [argument.name for argument in mutation.arguments] == [
        "board_id",
        "item_name",
        "column_values",
    ]


def test_column_values_encode_the_same_whatever_the_key_order() -> None:
    one = documents.create_subitem(
        "a1",
        parent_item_id=1,
        item_name="M",
        column_values={"numeric_mkra7j8e": "3", "dropdown_mkrak7qp": {"labels": ["M"]}},
    )
    two = documents.create_subitem(
        "a1",
        parent_item_id=1,
        item_name="M",
        column_values={"dropdown_mkrak7qp": {"labels": ["M"]}, "numeric_mkra7j8e": "3"},
    )
    assert one == two


@pytest.mark.parametrize(
    ("aliases", "operation"),
    [
        (["a1", "a1"], "Deliver"),
        (["1a"], "Deliver"),
        (["complexity"], "Deliver"),
        (["a1"], "Deliver now"),
    ],
)
def test_invalid_requests_are_refused(aliases: list[str], operation: str) -> None:
    with pytest.raises(ValueError):
        mutations = [documents.archive_item(alias, item_id=1) for alias in aliases]
        build_mutation_document(mutations, operation)


def test_no_mutations_is_refused() -> None:
    with pytest.raises(ValueError):
        build_mutation_document([], "Deliver")


def test_read_shape_selects_columns_and_subitems() -> None:
    shape = ReadShape(column_ids=True, subitems=True, subitem_column_ids=True)
    document = documents.items_page_document(shape)
    assert "$columnIds: [String!]" in document
    assert "$subitemColumnIds: [String!]" in document
    assert "subitems { id name" in document
    plain = documents.items_page_document(ReadShape())
    assert "columnIds" not in plain and "subitems" not in plain


def test_missing_schema_skips_outside_ci(
    schema_loader: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        schema_loader(tmp_path / "absent.graphql")


def test_missing_schema_fails_in_ci(
    schema_loader: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        schema_loader(tmp_path / "absent.graphql")
