"""A schema-valid client that is not ordersync (plain httpx) uses the emulator like monday."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator

if TYPE_CHECKING:
    from tests.emulator.conftest import Poster

UOM = "color_mkr5yf27"
PRICE = "numeric_mkr5cact"
CUSTOMER = "dropdown_mkr542p2"
ORDER_NUMBER = "text_mkr5wya6"
ORDER_DATE = "date_mkr5zp5"
NOTES = "long_text_mkr5hass"
SIZE = "dropdown_mkrak7qp"
QTY = "numeric_mkra7j8e"

CREATE_THREE = """
mutation ($board: ID!, $group: String, $v1: JSON, $v2: JSON, $v3: JSON) {
  first: create_item(board_id: $board, group_id: $group, item_name: "JWHD100120WHITEJOO-00505",
                     column_values: $v1, create_labels_if_missing: true) { id name }
  broken: create_item(board_id: $board, group_id: $group, item_name: "BROKEN",
                      column_values: $v2) { id }
  third: create_item(board_id: $board, group_id: $group, item_name: "JWHD100121BLACKJOO-00506",
                     column_values: $v3) { id name }
}
"""

READ_BACK = """
query ($ids: [ID!], $columns: [String!], $subitem_columns: [String!]) {
  items(ids: $ids) {
    id name state
    group { id title }
    board { id }
    column_values(ids: $columns) {
      id type text value
      ... on StatusValue { index label }
      ... on DropdownValue { values { id label } }
      ... on NumbersValue { number }
      ... on DateValue { date }
    }
    subitems {
      id name board { id } parent_item { id }
      column_values(ids: $subitem_columns) { id text ...on DropdownValue { values { label } } }
    }
  }
}
"""


def _create_group(gql: Poster) -> str:
    data = gql.data(
        'mutation ($b: ID!) { create_group(board_id: $b, group_name: "GREYSON 2025 FALL") { id } }',
        {"b": CMS_BOARD_ID},
    )
    group_id: str = data["create_group"]["id"]
    return group_id


def test_aliases_succeed_or_fail_on_their_own_and_read_back(gql: Poster, emu: Emulator) -> None:
    group = _create_group(gql)
    good = {
        UOM: {"label": "EACH"},
        PRICE: "12.50",
        CUSTOMER: {"labels": ["GREYSON"]},
        ORDER_DATE: {"date": "2025-03-14"},
        NOTES: {"text": "two\nlines"},
        ORDER_NUMBER: "JOO-00505",
    }
    response = gql(
        CREATE_THREE,
        {
            "board": str(CMS_BOARD_ID),
            "group": group,
            "v1": json.dumps(good),  # clients send a JSON string ...
            "v2": json.dumps({PRICE: "12,50"}),
            "v3": {UOM: "PACK", ORDER_NUMBER: "JOO-00506"},  # ... or an object
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert body["data"]["broken"] is None
    assert body["data"]["first"]["name"] == "JWHD100120WHITEJOO-00505"
    assert body["data"]["third"]["name"] == "JWHD100121BLACKJOO-00506"
    [error] = body["errors"]
    assert error["path"] == ["broken"]
    assert error["extensions"]["code"] == "ColumnValueException"
    assert error["extensions"]["error_data"]["column_id"] == PRICE
    assert error["locations"][0]["line"] == 5

    first = body["data"]["first"]["id"]
    subitem = gql.data(
        'mutation ($p: ID!, $v: JSON) { create_subitem(parent_item_id: $p, item_name: "XS", '
        "column_values: $v) { id board { id } parent_item { id } } }",
        {"p": first, "v": json.dumps({SIZE: {"labels": ["XS"]}, QTY: "12"})},
    )["create_subitem"]
    assert subitem["board"]["id"] == str(CMS_SUBITEMS_BOARD_ID)
    assert subitem["parent_item"]["id"] == first

    columns = [UOM, PRICE, CUSTOMER, ORDER_DATE, NOTES]
    variables = {"ids": [first], "columns": columns, "subitem_columns": [SIZE, QTY]}
    [item] = gql.data(READ_BACK, variables)["items"]
    assert item["group"] == {"id": group, "title": "GREYSON 2025 FALL"}
    assert item["board"]["id"] == str(CMS_BOARD_ID)
    values = {v["id"]: v for v in item["column_values"]}
    assert values[UOM]["text"] == "EACH" and values[UOM]["index"] == 0
    assert json.loads(values[UOM]["value"])["index"] == 0
    assert values[PRICE]["text"] == "12.50" and values[PRICE]["number"] == 12.5
    assert values[CUSTOMER]["values"] == [{"id": "1", "label": "GREYSON"}]
    assert values[ORDER_DATE]["date"] == "2025-03-14"
    assert values[NOTES]["text"] == "two\nlines"
    [sub] = item["subitems"]
    assert sub["board"]["id"] == str(CMS_SUBITEMS_BOARD_ID)
    assert sub["parent_item"]["id"] == first
    assert {v["id"]: v["text"] for v in sub["column_values"]} == {SIZE: "XS", QTY: "12"}

    assert emu.stats.mutations == {"create_group": 1, "create_item": 2, "create_subitem": 1}
    assert [i["name"] for i in emu.items(CMS_BOARD_ID)] == [
        "JWHD100120WHITEJOO-00505",
        "JWHD100121BLACKJOO-00506",
    ]


def test_board_structure_reads_like_mondays(gql: Poster) -> None:
    query = """
    query ($b: [ID!]) {
      boards(ids: $b) {
        id name state
        columns(types: [status, subtasks]) { id title type settings settings_str }
        groups { id title }
      }
    }"""
    [board] = gql.data(query, {"b": [CMS_BOARD_ID]})["boards"]
    columns = {c["id"]: c for c in board["columns"]}
    assert board["name"] == "Customer Master Schedule"
    assert columns["subtasks_mkr5c0kp"]["settings"]["boardIds"] == [CMS_SUBITEMS_BOARD_ID]
    labels = columns[UOM]["settings"]["labels"]  # 2025-10: typed JSON, a list of labels
    assert [(label["index"], label["label"], label["is_deactivated"]) for label in labels] == [
        (0, "EACH", False),
        (1, "PACK", False),
        (2, "SET", False),
        (3, "DOZEN", False),
    ]
    # settings_str (deprecated) still answers, in the shape before 2025-10
    assert json.loads(columns[UOM]["settings_str"]) == {
        "labels": {"0": "EACH", "1": "PACK", "2": "SET", "3": "DOZEN"}
    }
    assert board["groups"] == [{"id": "topics", "title": "Topics"}]


def test_created_labels_join_the_column_settings(gql: Poster, emu: Emulator) -> None:
    gql.data(
        'mutation ($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: "x", '
        "column_values: $v, create_labels_if_missing: true) { id } }",
        {"b": CMS_BOARD_ID, "v": {CUSTOMER: "GREYSON, B'HOOD", UOM: {"label": "CASE"}}},
    )
    board = emu.store.board(CMS_BOARD_ID)
    assert [o["label"] for o in board.columns[CUSTOMER].settings["labels"]] == ["GREYSON", "B'HOOD"]
    assert [(o["index"], o["label"]) for o in board.columns[UOM].settings["labels"]][-1] == (
        4,
        "CASE",
    )
    [item] = emu.items(CMS_BOARD_ID)
    assert item["texts"][CUSTOMER] == "GREYSON, B'HOOD"
    assert item["column_values"][CUSTOMER]["ids"] == [1, 2]


def test_change_archive_and_delete(gql: Poster, emu: Emulator) -> None:
    item_id = gql.data(
        'mutation ($b: ID!) { create_item(board_id: $b, item_name: "x") { id } }',
        {"b": CMS_BOARD_ID},
    )["create_item"]["id"]
    changed = gql.data(
        "mutation ($b: ID!, $i: ID, $v: JSON!, $c: [String!]) { change_multiple_column_values("
        "board_id: $b, item_id: $i, column_values: $v) { name column_values(ids: $c) { text } } }",
        {"b": CMS_BOARD_ID, "i": item_id, "v": {PRICE: 7, "name": "renamed"}, "c": [PRICE]},
    )["change_multiple_column_values"]
    assert changed == {"name": "renamed", "column_values": [{"text": "7"}]}
    cleared = gql.data(
        "mutation ($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, "
        "item_id: $i, column_values: $v) { id } }",
        {"b": CMS_BOARD_ID, "i": item_id, "v": {PRICE: None}},
    )
    assert cleared["change_multiple_column_values"]["id"] == item_id
    assert emu.items(CMS_BOARD_ID)[0]["column_values"][PRICE] is None

    archived = gql.data("mutation ($i: ID) { archive_item(item_id: $i) { state } }", {"i": item_id})
    assert archived["archive_item"]["state"] == "archived"
    deleted = gql.data("mutation ($i: ID) { delete_item(item_id: $i) { state } }", {"i": item_id})
    assert deleted["delete_item"]["state"] == "deleted"
    assert emu.items(CMS_BOARD_ID)[0]["state"] == "deleted"
    assert [e.name for e in emu.events] == [
        "create_item",
        "change_column_value",
        "change_name",
        "change_column_value",
        "item_archived",
        "item_deleted",
    ]


def test_validation_errors_come_back_as_graphql_errors(gql: Poster) -> None:
    response = gql("query { boards { id no_such_field } }")
    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "no_such_field" in body["errors"][0]["message"]
    parse_error = gql("query { boards { id ").json()
    assert parse_error["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_me_and_multiple_operations(gql: Poster) -> None:
    document = "query A { me { id } } query B { complexity { query } }"
    response = gql.client.post("/v2", json={"query": document, "operationName": "A"})
    assert response.json()["data"] == {"me": {"id": "70000001"}}
    ambiguous = gql(document).json()
    assert ambiguous["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
