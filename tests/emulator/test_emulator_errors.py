"""Each error monday gives for a bad request, in its current and legacy formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator

if TYPE_CHECKING:
    from tests.emulator.conftest import Poster

CREATE = (
    "mutation ($b: ID!, $n: String!, $v: JSON, $g: String) "
    "{ c: create_item(board_id: $b, item_name: $n, column_values: $v, group_id: $g) { id } }"
)
CHANGE = (
    "mutation ($b: ID!, $i: ID, $v: JSON!) "
    "{ c: change_multiple_column_values(board_id: $b, item_id: $i, column_values: $v) { id } }"
)


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"c": None}
    [error] = body["errors"]
    assert error["path"] == ["c"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


@pytest.mark.parametrize(
    ("variables", "code", "status_code"),
    [
        ({"b": 1, "n": "x"}, "InvalidBoardIdException", 200),
        ({"b": CMS_SUBITEMS_BOARD_ID, "n": "x"}, "InvalidBoardIdException", 200),
        ({"b": CMS_BOARD_ID, "n": "x" * 256}, "ItemNameTooLongException", 200),
        ({"b": CMS_BOARD_ID, "n": ""}, "ItemNameTooLongException", 200),
        (
            {"b": CMS_BOARD_ID, "n": "x", "v": {"no_such_column": "1"}},
            "InvalidColumnIdException",
            200,
        ),
        (
            {"b": CMS_BOARD_ID, "n": "x", "v": {"numeric_mkr5cact": "abc"}},
            "ColumnValueException",
            200,
        ),
        (
            {"b": CMS_BOARD_ID, "n": "x", "v": {"color_mkr5yf27": "CASE"}},
            "ColumnValueException",
            200,
        ),
        ({"b": CMS_BOARD_ID, "n": "x", "v": "{oops"}, "JsonParseException", 400),
        ({"b": CMS_BOARD_ID, "n": "x", "g": "no_group"}, "ResourceNotFoundException", 404),
    ],
)
def test_create_item_errors(
    gql: Poster, emu: Emulator, variables: dict[str, Any], code: str, status_code: int
) -> None:
    extensions = _error(gql(CREATE, variables))
    assert extensions["code"] == code
    assert extensions["status_code"] == status_code
    assert extensions["request_id"]
    assert emu.items(CMS_BOARD_ID) == []
    assert emu.stats.errors == {code: 1}


def test_unknown_items_are_resource_not_found(gql: Poster) -> None:
    for variables in ({"b": CMS_BOARD_ID, "i": "123", "v": {}}, {"b": CMS_BOARD_ID, "v": {}}):
        extensions = _error(gql(CHANGE, variables))
        assert extensions["code"] == "ResourceNotFoundException"
        assert extensions["status_code"] == 404
    archived = gql("mutation { c: archive_item(item_id: 42) { id } }")
    assert _error(archived)["code"] == "ResourceNotFoundException"


def test_a_failed_value_leaves_the_item_and_labels_untouched(gql: Poster, emu: Emulator) -> None:
    item_id = gql.data(CREATE, {"b": CMS_BOARD_ID, "n": "x"})["c"]["id"]
    response = gql(
        CHANGE.replace("column_values: $v)", "column_values: $v, create_labels_if_missing: true)"),
        {
            "b": CMS_BOARD_ID,
            "i": item_id,
            "v": {"dropdown_mkr542p2": "NEW", "numeric_mkr5cact": "x"},
        },
    )
    assert _error(response)["code"] == "ColumnValueException"
    assert emu.store.board(CMS_BOARD_ID).columns["dropdown_mkr542p2"].settings["labels"] == []
    assert emu.items(CMS_BOARD_ID)[0]["column_values"]["dropdown_mkr542p2"] is None


def test_wrong_token_is_unauthorized(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, token="secret")
    with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as client:
        denied = client.post("/v2", json={"query": "{ me { id } }"}, headers={"Authorization": "x"})
        missing = client.post("/v2", json={"query": "{ me { id } }"})
        allowed = client.post(
            "/v2", json={"query": "{ me { id } }"}, headers={"Authorization": "secret"}
        )
    assert denied.status_code == missing.status_code == 401
    assert denied.json()["errors"][0]["extensions"]["code"] == "USER_UNAUTHORIZED"
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    "content", [b"not json", b"{}", b'{"query": 1}', b'{"query": "{ me { id } }", "variables": 3}']
)
def test_a_malformed_body_is_a_bad_request(client: httpx.Client, content: bytes) -> None:
    response = client.post("/v2", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_legacy_format_puts_the_first_error_at_the_top(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, legacy_errors=True)
    with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as client:
        body = client.post(
            "/v2",
            json={
                "query": 'mutation ($b: ID!) { a: create_item(board_id: 1, item_name: "x") { id } '
                'b: create_item(board_id: $b, item_name: "y") { id } }',
                "variables": {"b": CMS_BOARD_ID},
            },
        ).json()
    assert body["error_code"] == "InvalidBoardIdException"
    assert body["status_code"] == 200
    assert body["error_data"] == {"board_id": "1"}
    assert "errors" not in body
    assert body["data"]["a"] is None and body["data"]["b"]["id"]


def test_api_version_can_be_required(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, require_api_version=True)
    with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as client:
        missing = client.post("/v2", json={"query": "{ me { id } }"})
        pinned = client.post(
            "/v2", json={"query": "{ me { id } }"}, headers={"API-Version": "2026-10"}
        )
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["extensions"]["code"] == "API_VERSION_REQUIRED"
    assert pinned.status_code == 200
