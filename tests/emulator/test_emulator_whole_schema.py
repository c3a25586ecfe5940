"""monday's whole schema: introspection, fields not emulated, and the structure mutations a user
needs to stand up a board (create_board, create_column, duplicate_board), the single-column
mutations, move_item_to_group, Board.updated_at and the 10,000-items-per-board limit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from graphql import build_client_schema, get_introspection_query

from emulator.conftest import Poster
from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Limits
from ordersync.emulator.api_errors import MondayAPIError

UOM, ORDER_NUMBER = "color_mkr5yf27", "text_mkr5wya6"
BOARD_ID = str(CMS_BOARD_ID)


def _create(gql: Poster, name: str = "x", board: int | str = CMS_BOARD_ID) -> str:
    data = gql.data(
        "mutation ($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }",
        {"b": str(board), "n": name},
    )
    item_id: str = data["create_item"]["id"]
    return item_id


def test_introspection_answers(gql: Poster) -> None:
    data = gql.data("{ __schema { queryType { name } types { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"
    assert {"MirrorValue", "BoardDuplication", "Item"} <= {
        t["name"] for t in data["__schema"]["types"]
    }
    typed = gql.data('{ __type(name: "StatusLabel") { fields { name } } }')
    assert "is_deactivated" in {f["name"] for f in typed["__type"]["fields"]}


def test_the_full_introspection_query_answers_over_http(emu: Emulator) -> None:
    with emu.serve() as server:
        response = httpx.post(server.url, json={"query": get_introspection_query()}, timeout=60)
    assert response.status_code == 200  # was a 500: pricing choked on __schema
    schema = build_client_schema(response.json()["data"])
    assert "change_column_value" in schema.mutation_type.fields  # type: ignore[union-attr]


def test_a_field_not_emulated_answers_an_error_naming_it_and_the_rest_goes_on(gql: Poster) -> None:
    item_id = _create(gql)
    body = gql(
        "query ($i: [ID!]) { items(ids: $i) { id name assets { id } } users { id } }",
        {"i": [item_id]},
    ).json()
    assert body["data"]["items"] == [{"id": item_id, "name": "x", "assets": None}]
    assert body["data"]["users"] is None
    errors = {tuple(e["path"]): e for e in body["errors"]}
    assert errors[("items", 0, "assets")]["extensions"]["code"] == "NOT_EMULATED"
    assert "Item.assets" in errors[("items", 0, "assets")]["message"]
    assert "Query.users" in errors[("users",)]["message"]


def test_an_argument_given_but_not_emulated_is_named(gql: Poster) -> None:
    body = gql(
        "{ boards(ids: [%d], workspace_ids: [1]) { id } }" % CMS_BOARD_ID  # noqa: UP031
    ).json()
    assert body["data"]["boards"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_EMULATED"
    assert "Query.boards(workspace_ids)" in body["errors"][0]["message"]


def test_single_column_mutations_and_move_to_group(gql: Poster, emu: Emulator) -> None:
    item_id = _create(gql)
    group = gql.data(
        'mutation ($b: ID!) { create_group(board_id: $b, group_name: "G2") { id } }',
        {"b": str(CMS_BOARD_ID)},
    )["create_group"]["id"]
    data = gql.data(
        """mutation ($b: ID!, $i: ID!, $g: String!) {
          a: change_column_value(board_id: $b, item_id: $i, column_id: "color_mkr5yf27",
                                 value: "{\\"label\\":\\"PACK\\"}") { id }
          b: change_simple_column_value(board_id: $b, item_id: $i, column_id: "text_mkr5wya6",
                                        value: "JOO-1") {
            id column_values(ids: ["text_mkr5wya6"]) { text }
          }
          c: move_item_to_group(item_id: $i, group_id: $g) { group { id } }
        }""",
        {"b": str(CMS_BOARD_ID), "i": item_id, "g": group},
    )
    assert data["b"]["column_values"] == [{"text": "JOO-1"}]
    assert data["c"]["group"]["id"] == group
    [item] = emu.items(CMS_BOARD_ID)
    assert item["texts"][UOM] == "PACK" and item["group_id"] == group
    assert emu.stats.mutations["change_column_value"] == 1


def test_board_updated_at_follows_its_items(gql: Poster, clock: ManualClock) -> None:
    query = "{ boards(ids: [%d]) { updated_at } }" % CMS_BOARD_ID  # noqa: UP031
    clock.advance(60)
    _create(gql)
    first = gql.data(query)["boards"][0]["updated_at"]
    clock.advance(60)
    _create(gql)
    assert gql.data(query)["boards"][0]["updated_at"] > first


def test_a_second_board_stood_up_through_the_api(gql: Poster, emu: Emulator) -> None:
    board = gql.data(
        'mutation { create_board(board_name: "Second", board_kind: public, description: "d") '
        "{ id name description } }"
    )["create_board"]
    assert (board["name"], board["description"]) == ("Second", "d")
    variables = {"b": board["id"]}
    columns = gql.data(
        """mutation ($b: ID!) {
          s: create_column(board_id: $b, title: "Subitems", column_type: subtasks) { id settings }
          u: create_column(board_id: $b, title: "UOM", column_type: status,
                           defaults: "{\\"labels\\": {\\"1\\": \\"EACH\\"}}") { id settings }
          d: create_column(board_id: $b, title: "Size", column_type: dropdown,
                           defaults: {labels: [{label: "XS"}, {id: 7, label: "S"}]}) { settings }
        }""",
        variables,
    )
    subitems_board = str(columns["s"]["settings"]["boardIds"][0])
    assert [label["label"] for label in columns["u"]["settings"]["labels"]] == ["EACH"]
    assert [
        (x["id"], x["label"], x["is_deactivated"]) for x in columns["d"]["settings"]["labels"]
    ] == [
        (1, "XS", False),
        (7, "S", False),
    ]
    item_id = _create(gql, "first", board["id"])
    gql.data(
        'mutation ($p: ID!) { create_subitem(parent_item_id: $p, item_name: "M") { id } }',
        {"p": item_id},
    )
    assert [i["name"] for i in emu.items(subitems_board)] == ["M"]
    duplicated = gql.data(
        """mutation ($b: ID!) { duplicate_board(board_id: $b, board_name: "Copy",
             duplicate_type: duplicate_board_with_pulses) { is_async board { id name } } }""",
        variables,
    )["duplicate_board"]
    assert duplicated["is_async"] is False and duplicated["board"]["name"] == "Copy"
    copy_id = duplicated["board"]["id"]
    [copied] = emu.items(copy_id)
    assert copied["name"] == "first"
    copy_subitems = emu.store.board(copy_id).subitems_board_id
    assert copy_subitems not in (None, subitems_board)
    assert [i["parent_id"] for i in emu.items(copy_subitems)] == [copied["id"]]


def test_a_column_type_not_emulated_is_refused_by_name(gql: Poster) -> None:
    body = gql(
        'mutation { create_column(board_id: %d, title: "Who", column_type: people) { id } }'  # noqa: UP031
        % CMS_BOARD_ID
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_EMULATED"
    assert "people" in body["errors"][0]["message"]


def test_items_per_board_limit_answers_items_limitation_exception(
    gql: Poster, emu: Emulator
) -> None:
    emu.store.items_per_board = 2
    _create(gql, "a")
    parent = _create(gql, "b")
    body = gql(
        'mutation ($b: ID!) { ok: create_group(board_id: $b, group_name: "g") { id } '
        'full: create_item(board_id: $b, item_name: "c") { id } }',
        {"b": str(CMS_BOARD_ID)},
    ).json()
    assert body["data"]["ok"] is not None and body["data"]["full"] is None
    [error] = body["errors"]
    assert error["path"] == ["full"]
    assert error["extensions"]["code"] == "ItemsLimitationException"
    assert error["extensions"]["status_code"] == 200
    assert len(emu.items(CMS_BOARD_ID)) == 2
    # the subitems board is a board of its own, with its own count
    gql.data(
        'mutation ($p: ID!) { create_subitem(parent_item_id: $p, item_name: "M") { id } }',
        {"p": parent},
    )
    assert len(emu.items(CMS_SUBITEMS_BOARD_ID)) == 1


def test_the_items_limit_counts_archived_items_not_deleted_ones_and_survives_a_reload(
    tmp_path: Path, clock: ManualClock
) -> None:
    state = tmp_path / "board.json"
    emu = Emulator(clock=clock, limits=Limits(items_per_board=2), state_file=state)
    first = emu.store.create_item(CMS_BOARD_ID, "a", None, None, False)
    second = emu.store.create_item(CMS_BOARD_ID, "b", None, None, False)
    emu.act(first.id, archive=True)
    with pytest.raises(MondayAPIError, match="limit of 2"):
        emu.store.create_item(CMS_BOARD_ID, "c", None, None, False)
    emu.act(second.id, delete=True)
    emu.store.create_item(CMS_BOARD_ID, "c", None, None, False)
    emu.save()
    reloaded = Emulator(clock=clock, limits=Limits(items_per_board=2), state_file=state)
    with pytest.raises(MondayAPIError, match="limit of 2"):
        reloaded.store.create_item(CMS_BOARD_ID, "d", None, None, False)
    copy = reloaded.store.duplicate_board(CMS_BOARD_ID, "duplicate_board_with_pulses")
    assert len(reloaded.items(copy.id)) == 1  # only the active item is copied
    reloaded.store.create_item(copy.id, "e", None, None, False)
    with pytest.raises(MondayAPIError, match="limit of 2"):
        reloaded.store.create_item(copy.id, "f", None, None, False)


def test_items_per_board_defaults_to_mondays_10000(emu: Emulator) -> None:
    assert emu.store.items_per_board == 10_000


def test_settings_show_a_deactivated_label_and_writes_to_it_fail(
    gql: Poster, emu: Emulator
) -> None:
    emu.deactivate_label(CMS_BOARD_ID, UOM, "PACK")
    columns = gql.data(
        '{ boards(ids: [%d]) { columns(ids: ["%s"]) { settings settings_str } } }'  # noqa: UP031
        % (CMS_BOARD_ID, UOM)
    )["boards"][0]["columns"][0]
    pack = next(label for label in columns["settings"]["labels"] if label["label"] == "PACK")
    assert pack["is_deactivated"] is True
    assert "PACK" not in json.loads(columns["settings_str"])["labels"].values()
    body = gql(
        'mutation ($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: "x", '
        "column_values: $v, create_labels_if_missing: true) { id } }",
        {"b": str(CMS_BOARD_ID), "v": json.dumps({UOM: {"label": "PACK"}})},
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "ColumnValueException"
    assert emu.items(CMS_BOARD_ID) == []


def test_a_rule_operator_not_emulated_is_named(gql: Poster) -> None:
    _create(gql)
    body = gql(
        "query ($b: [ID!]) { boards(ids: $b) { items_page(query_params: {rules: "
        '[{column_id: "text_mkr5wya6", compare_value: ["J"], operator: starts_with}]}) '
        "{ items { id } } } }",
        {"b": [BOARD_ID]},
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_EMULATED"
    assert "starts_with" in body["errors"][0]["message"]


def test_labels_are_deactivated_through_mondays_column_mutations(gql: Poster) -> None:
    read = '{ boards(ids: [%s]) { columns(ids: ["%s"]) { revision settings } } }'
    column = gql.data(read % (BOARD_ID, UOM))["boards"][0]["columns"][0]
    pack = next(label for label in column["settings"]["labels"] if label["label"] == "PACK")
    update = """mutation ($b: ID!, $r: String!, $s: UpdateStatusColumnSettingsInput) {
      update_status_column(board_id: $b, id: "color_mkr5yf27", revision: $r, settings: $s) {
        revision settings
      }
    }"""
    change = {**pack, "color": "done_green", "is_deactivated": True}
    variables = {"b": BOARD_ID, "r": column["revision"], "s": {"labels": [change]}}
    updated = gql.data(update, variables)["update_status_column"]
    assert updated["revision"] != column["revision"]
    assert [label["label"] for label in updated["settings"]["labels"]] == [
        label["label"] for label in column["settings"]["labels"]
    ]
    assert next(x for x in updated["settings"]["labels"] if x["label"] == "PACK")["is_deactivated"]
    stale = gql(update, variables).json()  # the old revision again
    assert stale["errors"][0]["extensions"]["code"] == "InvalidArgumentException"
    body = gql(
        'mutation ($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: "x", '
        "column_values: $v) { id } }",
        {"b": BOARD_ID, "v": json.dumps({UOM: "PACK"})},
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "ColumnValueException"
    dropdown = """mutation ($b: ID!) {
      update_dropdown_column(board_id: $b, id: "dropdown_mkr518fc", revision: "1",
        settings: {labels: [{label: "RECEIVED", id: 1, is_deactivated: true},
                            {label: "ON HOLD"}]}) { settings }
    }"""
    labels = gql.data(dropdown, {"b": BOARD_ID})["update_dropdown_column"]["settings"]["labels"]
    assert [(x["label"], x["is_deactivated"]) for x in labels] == [
        ("RECEIVED", True),
        ("CANCELLED", False),
        ("ON HOLD", False),
    ]


def test_mirror_connect_and_dependency_values_read_as_empty(gql: Poster) -> None:
    for column_type in ("mirror", "board_relation", "dependency"):
        gql.data(
            "mutation ($b: ID!, $t: ColumnType!) "
            '{ create_column(board_id: $b, title: "linked", column_type: $t) { id } }',
            {"b": BOARD_ID, "t": column_type},
        )
    item_id = _create(gql)
    values = gql.data(
        """query ($i: [ID!]) { items(ids: $i) { column_values(types: [mirror, board_relation,
             dependency]) { type text
               ... on MirrorValue { display_value }
               ... on BoardRelationValue { display_value linked_item_ids }
               ... on DependencyValue { display_value } } } }""",
        {"i": [item_id]},
    )["items"][0]["column_values"]
    assert sorted(v["type"] for v in values) == ["board_relation", "dependency", "mirror"]
    assert all(v["text"] is None and v["display_value"] == "" for v in values)


def test_a_group_pages_its_own_items(gql: Poster) -> None:
    _create(gql, "in topics")
    group = gql.data(
        'mutation ($b: ID!) { create_group(board_id: $b, group_name: "G2") { id } }',
        {"b": BOARD_ID},
    )["create_group"]["id"]
    moved = _create(gql, "moved")
    gql.data(
        "mutation ($i: ID!, $g: String!) { move_item_to_group(item_id: $i, group_id: $g) { id } }",
        {"i": moved, "g": group},
    )
    data = gql.data(
        "query ($b: [ID!], $g: [String]) { boards(ids: $b) { groups(ids: $g) "
        "{ id title items_page(limit: 10) { items { name } } } } }",
        {"b": [BOARD_ID], "g": [group]},
    )
    [found] = data["boards"][0]["groups"]
    assert (found["title"], found["items_page"]["items"]) == ("G2", [{"name": "moved"}])
