"""The conformance list: every document ordersync sends and every document monday's official
clients send (``official_documents``) validates against monday's schema and runs against the
emulator without an error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from emulator.conftest import Poster, require_monday_sdk
from emulator.official_documents import NPM_DOCUMENTS, npm_variables, sdk_documents
from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday.documents import ALL_DOCUMENTS, WEBHOOK_DOCUMENTS

BOARD = str(CMS_BOARD_ID)
TEXT_COLUMN = "text_mkr5wya6"
SDK_NAMES = (
    "boards first page (default)",
    "boards next page",
    "create_item",
    "create_subitem",
    "items_page_by_column_values",
    "items by ids",
    "change_column_value",
    "change_simple_column_value",
    "change_multiple_column_values",
    "move_item_to_group",
    "columns by board",
    "boards",
    "board by id",
    "items by group",
    "complexity",
    "archive_item",
    "delete_item",
)


@pytest.fixture(scope="module")
def monday_schema(shared_file: Callable[[str], Path]) -> GraphQLSchema:
    return build_schema(shared_file("monday/schema.graphql").read_text())


DROPDOWN_COLUMN = "dropdown_mkr58de6"  # a dropdown of the CMS board (AddDropdownLabels)


class Board:
    """Two items (the second with a subitem) and a live cursor, on the emulator's CMS board."""

    def __init__(self, gql: Poster) -> None:
        create = (
            "mutation ($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }"
        )
        self.item = gql.data(create, {"b": BOARD, "n": "first"})["create_item"]["id"]
        self.parent = gql.data(create, {"b": BOARD, "n": "second"})["create_item"]["id"]
        gql.data(
            'mutation ($p: ID!) { create_subitem(parent_item_id: $p, item_name: "M") { id } }',
            {"p": self.parent},
        )
        page = gql.data(
            "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 1) { cursor } } }",
            {"b": [BOARD]},
        )
        self.cursor = page["boards"][0]["items_page"]["cursor"]
        started = gql.data(
            'mutation ($b: ID!) { ingest_items(board_id: $b, group_id: "topics") { job_id } }',
            {"b": BOARD},
        )
        self.job = started["ingest_items"]["job_id"]
        columns = gql.data(
            "query ($b: [ID!], $c: [String]) { boards(ids: $b) { columns(ids: $c) { revision } } }",
            {"b": [BOARD], "c": [DROPDOWN_COLUMN]},
        )
        self.revision = columns["boards"][0]["columns"][0]["revision"]


def _run(gql: Poster, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = gql(document, variables)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def _ordersync_variables(document: str, board: Board) -> dict[str, Any]:
    """Values for each variable an ordersync document declares, by its name."""
    by_suffix = {
        "board_id": BOARD,
        "parent_item_id": board.parent,
        "item_id": board.item,
        "group_id": "topics",
        "item_name": "x",
        "column_values": "{}",
        "create_labels_if_missing": True,
        "group_name": "GREYSON 2025 FALL",
        "boardId": BOARD,
        "limit": 10,
        "cursor": board.cursor,
        "ids": [board.item, board.parent],
        "columnIds": [TEXT_COLUMN],
        "subitemColumnIds": ["numeric_mkra7j8e"],
        "columns": [{"column_id": TEXT_COLUMN, "column_values": ["JOO-1"]}],
        "excludeNonactive": False,
        "groupId": "topics",
        "jobId": board.job,
        "columnId": DROPDOWN_COLUMN,
        "revision": board.revision,
        "settings": {"labels": [{"label": "NEW LABEL"}]},
    }
    variables = {}
    for name in re.findall(r"\$(\w+):", document):
        suffix = next(s for s in by_suffix if name == s or name.endswith(f"_{s}"))
        variables[name] = by_suffix[suffix]
    return variables


@pytest.mark.schema
@pytest.mark.parametrize(
    "document",
    [*(d for _, d in (*ALL_DOCUMENTS, *WEBHOOK_DOCUMENTS)), *NPM_DOCUMENTS.values()],
    ids=[
        *(n for n, _ in (*ALL_DOCUMENTS, *WEBHOOK_DOCUMENTS)),
        *(f"npm {n}" for n in NPM_DOCUMENTS),
    ],
)
def test_document_is_valid_on_mondays_schema(monday_schema: GraphQLSchema, document: str) -> None:
    assert validate(monday_schema, parse(document)) == []


@pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
def test_every_ordersync_document_runs(gql: Poster, name: str, document: str) -> None:
    board = Board(gql)
    data = _run(gql, document, _ordersync_variables(document, board))
    assert data["complexity"]["query"] > 0


def test_ordersyncs_webhook_documents_run(clock: ManualClock) -> None:
    """``webhooks install``'s documents; the URL answers monday's challenge."""

    def receiver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=json.loads(request.content))

    with Emulator(clock=clock, webhook_transport=httpx.MockTransport(receiver)) as emu:
        with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as http:
            gql = Poster(http)
            variables = {"boardId": BOARD, "url": "https://hooks.example/x", "event": "create_item"}
            create, webhooks = (document for _, document in WEBHOOK_DOCUMENTS)
            created = _run(gql, create, variables)["create_webhook"]
            listed = _run(gql, webhooks, {"boardId": BOARD})["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]]


@pytest.mark.parametrize("name", list(NPM_DOCUMENTS))
def test_every_npm_client_operation_runs(gql: Poster, emu: Emulator, name: str) -> None:
    board = Board(gql)
    data = _run(gql, NPM_DOCUMENTS[name], npm_variables(name, BOARD, board.item))
    assert data and all(value is not None for value in data.values())


@pytest.mark.schema
@pytest.mark.parametrize("name", SDK_NAMES)
def test_every_python_sdk_document_validates_and_runs(
    gql: Poster, monday_schema: GraphQLSchema, name: str
) -> None:
    require_monday_sdk()
    board = Board(gql)
    document = sdk_documents(BOARD, board.item, board.parent, board.cursor)[name]
    assert validate(monday_schema, parse(document)) == []
    data = _run(gql, document)
    assert data and all(value is not None for value in data.values())
