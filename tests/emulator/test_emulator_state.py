"""The state file keeps boards, labels, groups and items between runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator

GROUP = 'mutation ($b: ID!) { create_group(board_id: $b, group_name: "GREYSON 2025 FALL") { id } }'
CREATE = """
mutation ($b: ID!, $n: String!, $v: JSON) {
  create_item(board_id: $b, item_name: $n, column_values: $v, create_labels_if_missing: true) { id }
}"""


def _post(emu: Emulator, query: str, **variables: Any) -> dict[str, Any]:
    payload = {"query": query, "variables": {"b": CMS_BOARD_ID, **variables}}
    with httpx.Client(transport=emu.transport(), base_url="https://api.monday.com") as client:
        body: dict[str, Any] = client.post("/v2", json=payload).json()
    return body


def test_state_file_round_trip(tmp_path: Path, clock: ManualClock) -> None:
    state = tmp_path / "emulator.json"
    first = Emulator(clock=clock, state_file=state)
    assert state.exists()  # seeded boards are written at once
    _post(first, GROUP)
    created = _post(first, CREATE, n="x", v='{"dropdown_mkr542p2": "GREYSON"}')
    assert "errors" not in created

    second = Emulator(clock=clock, state_file=state)
    assert second.items(CMS_BOARD_ID) == first.items(CMS_BOARD_ID)
    board = second.store.board(CMS_BOARD_ID)
    assert [g.title for g in board.groups.values()] == ["Topics", "GREYSON 2025 FALL"]
    assert board.columns["dropdown_mkr542p2"].settings["labels"] == [
        {"id": 1, "label": "GREYSON", "is_deactivated": False}
    ]
    again = _post(second, CREATE, n="y")
    ids = [i["id"] for i in second.items(CMS_BOARD_ID)]
    assert again["data"]["create_item"]["id"] == ids[-1] != ids[0]


def test_state_file_is_written_after_mutations_only(tmp_path: Path, clock: ManualClock) -> None:
    state = tmp_path / "emulator.json"
    emu = Emulator(clock=clock, state_file=state)
    marker = state.stat().st_mtime_ns
    _post(emu, "query ($b: ID!) { boards(ids: [$b]) { id } }")
    assert state.stat().st_mtime_ns == marker
    _post(emu, CREATE, n="z")
    assert [i["name"] for i in json.loads(state.read_text())["items"]] == ["z"]


def test_save_to_another_path_and_version_check(tmp_path: Path, emu: Emulator) -> None:
    target = tmp_path / "copy.json"
    emu.save(target)
    data = json.loads(target.read_text())
    assert {b["id"] for b in data["boards"]} == {str(CMS_BOARD_ID), "4755559779"}
    data["version"] = 99
    target.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="version"):
        Emulator(state_file=target)
    with pytest.raises(ValueError, match="no path"):
        emu.save()


def test_a_state_file_with_settings_before_2025_10_loads_in_the_new_shape(
    tmp_path: Path, clock: ManualClock
) -> None:
    state = tmp_path / "emulator.json"
    Emulator(clock=clock, state_file=state)
    data = json.loads(state.read_text())
    board = next(b for b in data["boards"] if b["id"] == str(CMS_BOARD_ID))
    columns = {c["id"]: c for c in board["columns"]}
    columns["color_mkr5yf27"]["settings"] = {"labels": {"1": "PACK", "0": "EACH"}}
    columns["dropdown_mkr518fc"]["settings"] = {"labels": [{"id": 3, "name": "RECEIVED"}]}
    for column in board["columns"]:
        column.pop("revision", None)  # written before columns had one
    state.write_text(json.dumps(data))
    loaded = Emulator(clock=clock, state_file=state).store.board(CMS_BOARD_ID)
    status = loaded.columns["color_mkr5yf27"].settings["labels"]
    assert [(x["index"], x["label"], x["is_deactivated"]) for x in status] == [
        (0, "EACH", False),
        (1, "PACK", False),
    ]
    assert loaded.columns["dropdown_mkr518fc"].settings["labels"] == [
        {"id": 3, "label": "RECEIVED", "is_deactivated": False}
    ]
    assert loaded.columns["color_mkr5yf27"].revision == 1
