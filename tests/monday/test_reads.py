"""Reads: board parsing, cursor paging, value chunks and id chunks, against a scripted monday."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from monday.scripted_monday import ScriptedMonday, answer
from ordersync.errors import PermanentMondayError
from ordersync.monday import ColumnValue, MondayClient, reads

BOARD = {
    "id": "4755559751",
    "name": "Customer Master Schedule",
    "columns": [
        {"id": "name", "title": "Name", "type": "name", "settings": {}},
        {"id": "text_mkr5wya6", "title": "AAG ORDER NUMBER", "type": "text", "settings": {}},
        {
            "id": "color_mkr5yf27",
            "title": "UNIT OF MEASURE",
            "type": "status",
            "settings": {"labels": {"5": "", "1": "PCS", "0": "PACK", "11": "DOZEN"}},
        },
        {
            "id": "dropdown_mkr518fc",
            "title": "ORDER TYPE",
            "type": "dropdown",
            "settings": json.dumps(
                {"labels": [{"id": 1, "name": "RECEIVED"}, {"id": 2, "name": "CANCELLED"}]}
            ),
        },
        {
            "id": "subtasks_mkr5c0kp",
            "title": "Subitems",
            "type": "subtasks",
            "settings": {"allowMultipleItems": True, "boardIds": [4755559999]},
        },
    ],
    "groups": [{"id": "topics", "title": "Group Title"}, {"id": "g2", "title": "GREYSON 2025"}],
}


def item(item_id: int, *, state: str = "active", subitems: list[Any] | None = None) -> dict:
    raw: dict[str, Any] = {
        "id": str(item_id),
        "name": f"ITEM{item_id}",
        "state": state,
        "group": {"id": "topics"},
        "parent_item": None,
        "column_values": [
            {
                "id": "text_mkr5wya6",
                "text": f"AAG-{item_id}",
                "value": json.dumps(f"AAG-{item_id}"),
            },
            {"id": "numeric_mkr5cact", "text": "", "value": None},
        ],
    }
    if subitems is not None:
        raw["subitems"] = subitems
    return raw


def page(items: list[dict], cursor: str | None) -> dict[str, Any]:
    return {"cursor": cursor, "items": items}


def variables(monday: ScriptedMonday) -> list[dict[str, Any]]:
    return [body["variables"] for body in monday.bodies()]


def test_get_board(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers.append(answer(200, {"data": {"boards": [BOARD]}}))
    board = client.get_board(4755559751)
    assert (board.id, board.name) == (4755559751, "Customer Master Schedule")
    assert board.subitems_board_id == 4755559999
    assert board.columns["color_mkr5yf27"].labels == ("PACK", "PCS", "DOZEN")
    assert board.columns["dropdown_mkr518fc"].labels == ("RECEIVED", "CANCELLED")
    assert board.columns["text_mkr5wya6"].labels == ()
    assert board.columns["dropdown_mkr518fc"].settings["labels"][0]["name"] == "RECEIVED"
    assert [g.id for g in board.groups] == ["topics", "g2"]
    assert board.group_by_title("GREYSON 2025") is not None
    assert variables(monday) == [{"boardId": "4755559751"}]
    assert monday.bodies()[0]["operationName"] == "GetBoard"


def test_get_board_reads_2025_10_settings_and_leaves_deactivated_labels_out(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    status = [
        {"id": 1, "label": "PCS", "index": 1, "is_deactivated": False, "is_done": False},
        {"id": 0, "label": "PACK", "index": 0, "is_deactivated": False, "is_done": False},
        {"id": 2, "label": "OLD", "index": 2, "is_deactivated": True, "is_done": False},
    ]
    dropdown = [
        {"id": 1, "label": "RECEIVED", "is_deactivated": False},
        {"id": 2, "label": "CANCELLED", "is_deactivated": True},
    ]
    columns = [
        {**BOARD["columns"][2], "settings": {"labels": status}},
        {**BOARD["columns"][3], "settings": json.dumps({"labels": dropdown})},
    ]
    monday.answers.append(answer(200, {"data": {"boards": [{**BOARD, "columns": columns}]}}))
    board = client.get_board(4755559751)
    assert board.columns["color_mkr5yf27"].labels == ("PACK", "PCS")
    assert board.columns["color_mkr5yf27"].deactivated_labels == ("OLD",)
    assert board.columns["dropdown_mkr518fc"].labels == ("RECEIVED",)
    assert board.columns["dropdown_mkr518fc"].deactivated_labels == ("CANCELLED",)


def test_get_board_missing(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers.append(answer(200, {"data": {"boards": []}}))
    with pytest.raises(PermanentMondayError) as caught:
        client.get_board(1)
    assert caught.value.code == "BOARD_NOT_FOUND"


def test_iter_items_follows_cursors(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers += [
        answer(200, {"data": {"boards": [{"items_page": page([item(1), item(2)], "c1")}]}}),
        answer(200, {"data": {"next_items_page": page([item(3, state="archived")], "c2")}}),
        answer(200, {"data": {"next_items_page": page([item(4)], None)}}),
    ]
    items = list(client.iter_items(7, column_ids=["text_mkr5wya6"], page_size=2))
    assert [i.id for i in items] == [1, 2, 4]
    assert items[0].values["text_mkr5wya6"] == ColumnValue(text="AAG-1", value="AAG-1")
    assert items[0].values["numeric_mkr5cact"] == ColumnValue(text="", value=None)
    assert items[0].group_id == "topics" and items[0].parent_id is None
    sent = variables(monday)
    assert sent[0] == {"boardId": "7", "limit": 2, "columnIds": ["text_mkr5wya6"]}
    assert sent[1] == {"cursor": "c1", "limit": 2, "columnIds": ["text_mkr5wya6"]}
    assert sent[2]["cursor"] == "c2"
    assert [b["operationName"] for b in monday.bodies()] == [
        "ItemsPage",
        "NextItemsPage",
        "NextItemsPage",
    ]


def test_iter_items_with_subitems_and_archived(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    subitems = [item(11), item(12, state="archived")]
    monday.answers.append(
        answer(
            200,
            {
                "data": {
                    "boards": [
                        {
                            "items_page": page(
                                [item(1, subitems=subitems), item(2, state="archived")], None
                            )
                        }
                    ]
                }
            },
        )
    )
    items = list(
        client.iter_items(
            7, with_subitems=True, subitem_column_ids=["numeric"], include_archived=True
        )
    )
    assert [i.id for i in items] == [1, 2]
    assert [s.id for s in items[0].subitems] == [11, 12]
    assert items[0].subitems[0].parent_id == 1
    query = monday.bodies()[0]["query"]
    assert "subitems {" in query and "$subitemColumnIds" in query
    assert "columnIds" not in monday.bodies()[0]["variables"]


def test_iter_items_drops_archived_subitems_by_default(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    subitems = [item(11), item(12, state="archived")]
    monday.answers.append(
        answer(
            200, {"data": {"boards": [{"items_page": page([item(1, subitems=subitems)], None)}]}}
        )
    )
    (only,) = client.iter_items(7, with_subitems=True)
    assert [s.id for s in only.subitems] == [11]


def test_iter_items_checks_page_size(client: MondayClient) -> None:
    with pytest.raises(ValueError):
        list(client.iter_items(7, page_size=501))


def test_items_by_column_values_chunks_and_pages(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    values = [f"AAG-{n}" for n in range(150)] + ["AAG-0"]
    monday.answers += [
        answer(200, {"data": {"items_page_by_column_values": page([item(1)], "c1")}}),
        answer(200, {"data": {"next_items_page": page([item(2)], None)}}),
        answer(200, {"data": {"items_page_by_column_values": page([item(3), item(1)], None)}}),
    ]
    found = client.items_by_column_values(7, "text_mkr5wya6", values)
    assert [i.id for i in found] == [1, 2, 3]
    sent = variables(monday)
    first_chunk = sent[0]["columns"][0]
    assert first_chunk["column_id"] == "text_mkr5wya6"
    assert len(first_chunk["column_values"]) == 100
    assert sent[1]["cursor"] == "c1"
    assert len(sent[2]["columns"][0]["column_values"]) == 50
    assert [b["operationName"] for b in monday.bodies()] == [
        "ItemsByColumnValues",
        "NextItemsPage",
        "ItemsByColumnValues",
    ]
    # a first page as large as its chunk (monday prices the limit), pages after it full
    assert [v["limit"] for v in sent] == [100, 500, 50]


def test_items_by_column_values_leaves_archived_items_out_unless_asked(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    listed = page([item(1), item(2, state="archived"), item(3, state="deleted")], None)
    for _ in range(2):
        monday.answers.append(answer(200, {"data": {"items_page_by_column_values": listed}}))
    assert [i.id for i in client.items_by_column_values(7, "text_mkr5wya6", ["K"])] == [1]
    everything = reads.items_by_column_values(
        client.execute, 7, "text_mkr5wya6", ["K"], include_archived=True
    )
    assert [i.id for i in everything] == [1, 2, 3]


def test_items_by_column_values_keeps_a_halved_page_size(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    too_complex = {
        "errors": [{"message": "too complex", "extensions": {"code": "maxComplexityExceeded"}}]
    }
    values = [f"AAG-{n}" for n in range(130)]
    monday.answers += [
        answer(200, too_complex),
        answer(200, {"data": {"items_page_by_column_values": page([item(1)], "c1")}}),
        answer(200, {"data": {"next_items_page": page([item(2)], None)}}),
        answer(200, {"data": {"items_page_by_column_values": page([item(3)], None)}}),
    ]
    found = client.items_by_column_values(7, "text_mkr5wya6", values, with_subitems=True)
    assert [i.id for i in found] == [1, 2, 3]
    assert [v["limit"] for v in variables(monday)] == [100, 50, 50, 30]


def test_items_by_column_values_with_nothing_to_find(client: MondayClient) -> None:
    assert client.items_by_column_values(7, "text_mkr5wya6", []) == []


def test_get_items_chunks_ids_by_hundred(client: MondayClient, monday: ScriptedMonday) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["variables"]["ids"]
        archived = {"5"}
        items = [item(int(i), state="archived" if i in archived else "active") for i in ids]
        return answer(200, {"data": {"items": items}})

    monday.answers += [serve, serve, serve]
    found = client.get_items(list(range(1, 251)))
    assert len(found) == 250
    assert next(i for i in found if i.id == 5).state == "archived"
    sent = variables(monday)
    assert [len(v["ids"]) for v in sent] == [100, 100, 50]
    assert [v["limit"] for v in sent] == [100, 100, 50]
    assert all(v["excludeNonactive"] is False for v in sent)


def test_get_items_can_leave_archived_out(client: MondayClient, monday: ScriptedMonday) -> None:
    monday.answers.append(answer(200, {"data": {"items": [item(1), item(2, state="archived")]}}))
    found = client.get_items([1, 2], include_archived=False)
    assert [i.id for i in found] == [1]
    assert variables(monday)[0]["excludeNonactive"] is True


def test_get_items_parses_subitem_parent(client: MondayClient, monday: ScriptedMonday) -> None:
    sub = item(11)
    sub["parent_item"] = {"id": "1"}
    monday.answers.append(answer(200, {"data": {"items": [sub]}}))
    (found,) = client.get_items([11])
    assert found.parent_id == 1


def test_a_page_too_complex_for_monday_is_halved(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    too_complex = {
        "errors": [
            {
                "message": "Query has complexity of 10649021, which exceeds max complexity",
                "extensions": {"code": "maxComplexityExceeded"},
            }
        ]
    }
    monday.answers += [
        answer(200, too_complex),
        answer(200, {"data": {"boards": [{"items_page": page([item(1)], "c1")}]}}),
        answer(200, {"data": {"next_items_page": page([item(2)], None)}}),
    ]
    items = list(client.iter_items(7, with_subitems=True))
    assert [i.id for i in items] == [1, 2]
    assert [v["limit"] for v in variables(monday)] == [500, 250, 250]


def test_other_permanent_errors_are_not_shrunk_away(
    client: MondayClient, monday: ScriptedMonday
) -> None:
    invalid = {"errors": [{"message": "no", "extensions": {"code": "InvalidBoardIdException"}}]}
    monday.answers.append(answer(200, invalid))
    with pytest.raises(PermanentMondayError):
        list(client.iter_items(7))
    assert len(monday.requests) == 1
