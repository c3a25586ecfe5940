"""items_page, next_items_page, items_page_by_column_values and items: filters and cursors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.emulator.model import ItemState

if TYPE_CHECKING:
    from tests.emulator.conftest import Poster

ORDER_NUMBER = "text_mkr5wya6"
UOM = "color_mkr5yf27"
FIRST_PAGE = """
query ($b: [ID!], $limit: Int!, $params: ItemsQuery) {
  boards(ids: $b) { items_page(limit: $limit, query_params: $params) { cursor items { id name } } }
}"""
NEXT_PAGE = """
query ($c: String!, $limit: Int!) {
  next_items_page(cursor: $c, limit: $limit) { cursor items { id } }
}"""


def _fill(emu: Emulator, count: int) -> list[str]:
    ids = []
    for n in range(count):
        values = {ORDER_NUMBER: f"AAG-{n:04d}", UOM: "PACK" if n % 2 else "EACH"}
        ids.append(emu.store.create_item(CMS_BOARD_ID, f"item {n}", None, values, False).id)
    return ids


def _first(gql: Poster, limit: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    data = gql.data(FIRST_PAGE, {"b": [CMS_BOARD_ID], "limit": limit, "params": params})
    page: dict[str, Any] = data["boards"][0]["items_page"]
    return page


def test_pages_of_500_follow_the_cursor_to_the_end(gql: Poster, emu: Emulator) -> None:
    ids = _fill(emu, 1_100)
    page = _first(gql, 500)
    seen = [i["id"] for i in page["items"]]
    while page["cursor"]:
        page = gql.data(NEXT_PAGE, {"c": page["cursor"], "limit": 500})["next_items_page"]
        seen += [i["id"] for i in page["items"]]
    assert seen == ids


def test_limit_over_500_is_refused(gql: Poster, emu: Emulator) -> None:
    _fill(emu, 1)
    body = gql(FIRST_PAGE, {"b": [CMS_BOARD_ID], "limit": 501}).json()
    assert body["errors"][0]["extensions"]["code"] == "InvalidArgumentException"


def test_cursors_expire_after_sixty_minutes(gql: Poster, emu: Emulator, clock: ManualClock) -> None:
    _fill(emu, 3)
    cursor = _first(gql, 1)["cursor"]
    clock.advance(59 * 60)
    second = gql.data(NEXT_PAGE, {"c": cursor, "limit": 1})["next_items_page"]
    clock.advance(60)
    expired = gql(NEXT_PAGE, {"c": second["cursor"], "limit": 1}).json()
    assert expired["data"] is None
    assert expired["errors"][0]["extensions"]["code"] == "CursorExpiredError"
    garbage = gql(NEXT_PAGE, {"c": "not-a-cursor", "limit": 1}).json()
    assert garbage["errors"][0]["extensions"]["code"] == "CursorException"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rules": [{"column_id": ORDER_NUMBER, "compare_value": ["AAG-0003"]}]}, ["item 3"]),
        (
            {
                "rules": [
                    {
                        "column_id": ORDER_NUMBER,
                        "compare_value": ["AAG-0001", "AAG-0002"],
                        "operator": "any_of",
                    }
                ]
            },
            ["item 1", "item 2"],
        ),
        ({"rules": [{"column_id": UOM, "compare_value": [1]}]}, ["item 1", "item 3"]),
        ({"rules": [{"column_id": UOM, "compare_value": ["EACH"]}]}, ["item 0", "item 2"]),
        (
            {
                "operator": "or",
                "rules": [
                    {"column_id": ORDER_NUMBER, "compare_value": ["AAG-0000"]},
                    {"column_id": ORDER_NUMBER, "compare_value": ["AAG-0003"]},
                ],
            },
            ["item 0", "item 3"],
        ),
        (
            {
                "rules": [
                    {"column_id": "numeric_mkr5cact", "compare_value": [], "operator": "is_empty"}
                ]
            },
            ["item 0", "item 1", "item 2", "item 3"],
        ),
        (
            {"order_by": [{"column_id": ORDER_NUMBER, "direction": "desc"}]},
            ["item 3", "item 2", "item 1", "item 0"],
        ),
    ],
)
def test_query_params(
    gql: Poster, emu: Emulator, params: dict[str, Any], expected: list[str]
) -> None:
    _fill(emu, 4)
    assert [i["name"] for i in _first(gql, 25, params)["items"]] == expected


def test_query_params_ids_and_archived_items(gql: Poster, emu: Emulator) -> None:
    ids = _fill(emu, 3)
    emu.store.set_state(ids[0], ItemState.ARCHIVED)
    assert [i["id"] for i in _first(gql, 25)["items"]] == ids[1:]
    assert [i["id"] for i in _first(gql, 25, {"ids": ids[:2]})["items"]] == ids[1:2]


def test_unknown_rule_column(gql: Poster, emu: Emulator) -> None:
    params = {"rules": [{"column_id": "nope", "compare_value": ["x"]}]}
    body = gql(FIRST_PAGE, {"b": [CMS_BOARD_ID], "limit": 5, "params": params}).json()
    assert body["errors"][0]["extensions"]["code"] == "InvalidColumnIdException"


def test_items_page_by_column_values(gql: Poster, emu: Emulator) -> None:
    _fill(emu, 6)
    query = """
    query ($b: ID!, $cols: [ItemsPageByColumnValuesQuery!]) {
      items_page_by_column_values(board_id: $b, columns: $cols, limit: 2) { cursor items { name } }
    }"""
    columns = [
        {"column_id": UOM, "column_values": ["PACK"]},
        {"column_id": ORDER_NUMBER, "column_values": ["AAG-0001", "AAG-0002", "AAG-0005"]},
    ]
    page = gql.data(query, {"b": CMS_BOARD_ID, "cols": columns})["items_page_by_column_values"]
    assert [i["name"] for i in page["items"]] == ["item 1", "item 5"]
    assert page["cursor"] is None
    by_name = gql.data(
        query, {"b": CMS_BOARD_ID, "cols": [{"column_id": "name", "column_values": ["item 4"]}]}
    )
    assert by_name["items_page_by_column_values"]["items"] == [{"name": "item 4"}]


def test_items_by_id_honour_the_default_limit(gql: Poster, emu: Emulator) -> None:
    ids = _fill(emu, 30)
    assert len(gql.data("query ($i: [ID!]) { items(ids: $i) { id } }", {"i": ids})["items"]) == 25
    all_30 = gql.data("query ($i: [ID!]) { items(ids: $i, limit: 100) { id state } }", {"i": ids})
    assert [i["id"] for i in all_30["items"]] == ids
