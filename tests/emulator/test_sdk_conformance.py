"""monday's own Python SDK (``monday-api-python-sdk`` 1.6.x) against the emulator over real HTTP.

The SDK builds its documents itself and parses the answers into its own typed objects (dacite
dataclasses); every call here would fail if the emulator refused a document that monday accepts
(``updated_at`` on boards, ``... on MirrorValue``, ``change_column_value``, ...), priced the
SDK's default board read over monday's 5M per-query cap, or answered a shape the SDK can't
parse. The SDK paces itself by sleeping ``complexity.query / 10M × 60`` seconds between pages:
that sleep is recorded here instead of slept (no test sleeps for real).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from emulator.conftest import require_monday_sdk
from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator

require_monday_sdk()
from monday_sdk import MondayClient  # noqa: E402
from monday_sdk.types import Item  # noqa: E402

pytestmark = pytest.mark.sdk

EPOCH = 1_767_225_600.0
UOM, ORDER_NUMBER, ORDER_DATE = "color_mkr5yf27", "text_mkr5wya6", "date_mkr5zp5"
ORDER_TYPE, SIZE, QTY = "dropdown_mkr518fc", "dropdown_mkrak7qp", "numeric_mkra7j8e"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(clock=ManualClock(), epoch=EPOCH) as emulator:
        yield emulator


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The complexity the SDK paces by after each page but the last, recorded, not slept."""
    recorded: list[int] = []
    monkeypatch.setattr("monday_sdk.modules.boards.sleep_according_to_complexity", recorded.append)
    return recorded


@pytest.fixture
def sdk(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MondayClient]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with emu.serve() as server:
        client = MondayClient(token="emulator-token")
        # The SDK has no endpoint setting: its GraphQL client holds monday's URL.
        client._graphql_client.endpoint = server.url
        yield client


def _create(sdk: MondayClient, name: str, values: dict[str, object] | None = None) -> str:
    response = sdk.items.create_item(CMS_BOARD_ID, "topics", name, values or {})
    item_id = response.data.create_item.id
    assert isinstance(item_id, str) and item_id.isdigit()
    return item_id


def _value(item: Item, column_id: str) -> tuple[str | None, str | None]:
    [found] = [v for v in item.column_values or [] if v.column and v.column.id == column_id]
    return found.text, found.value


def test_create_and_change_values_with_every_sdk_call(sdk: MondayClient, emu: Emulator) -> None:
    item_id = _create(sdk, "JWHD100120", {ORDER_NUMBER: "JOO-00505", ORDER_TYPE: "RECEIVED"})
    sdk.items.change_simple_column_value(CMS_BOARD_ID, item_id, ORDER_NUMBER, "JOO-00506")
    sdk.items.change_status_column_value(CMS_BOARD_ID, item_id, UOM, "PACK")
    sdk.items.change_date_column_value(
        CMS_BOARD_ID, item_id, ORDER_DATE, datetime.datetime(2026, 3, 14, 9, 30)
    )
    sdk.items.change_multiple_column_values(
        CMS_BOARD_ID, item_id, {"numeric_mkr5cact": "12.5", "long_text_mkr5hass": {"text": "n"}}
    )
    sub = sdk.items.create_subitem(item_id, "M", {SIZE: {"labels": ["M"]}, QTY: 12})
    assert sub.response_data["data"]["create_subitem"]["board"]["id"] == str(CMS_SUBITEMS_BOARD_ID)
    [item] = emu.items(CMS_BOARD_ID)
    assert item["texts"][ORDER_NUMBER] == "JOO-00506"
    assert item["texts"][UOM] == "PACK"
    assert item["texts"][ORDER_DATE] == "2026-03-14 09:30:00"
    assert item["texts"]["numeric_mkr5cact"] == "12.5"
    assert [s["name"] for s in emu.items(CMS_SUBITEMS_BOARD_ID)] == ["M"]
    assert emu.stats.mutations["change_column_value"] == 2


def test_default_board_read_parses_into_the_sdks_items(
    sdk: MondayClient, emu: Emulator, paced: list[int]
) -> None:
    first = _create(sdk, "first", {ORDER_NUMBER: "JOO-1", UOM: {"label": "EACH"}})
    _create(sdk, "second", {ORDER_NUMBER: "JOO-2"})
    sdk.items.create_subitem(first, "S", {SIZE: {"labels": ["S"]}, QTY: 3})
    emu.reset_stats()
    items = sdk.boards.fetch_all_items_by_board_id(CMS_BOARD_ID)  # items_page(limit: 500)
    assert [i.name for i in items] == ["first", "second"]
    assert _value(items[0], ORDER_NUMBER) == ("JOO-1", '"JOO-1"')
    assert _value(items[0], UOM)[0] == "EACH"
    column = next(v.column for v in items[0].column_values or [] if v.column)
    assert column.id and column.title
    assert items[0].group is not None and items[0].group.id == "topics"
    assert items[0].updated_at == "2026-01-01T00:00:00Z"
    [sub] = items[0].subitems or []
    assert sub.name == "S" and sub.parent_item is not None and sub.parent_item.id == first
    assert _value(sub, QTY)[0] == "3"
    # One request, priced under monday's 5M cap (the SDK's default page is a document monday
    # accepts), and no pause: the board fitted in one page.
    assert emu.stats.requests == 1 and emu.stats.errors == {}
    assert 0 < emu.stats.complexity_used < 5_000_000
    assert paced == []


def test_paged_board_read_follows_the_cursor_and_paces_by_complexity(
    sdk: MondayClient, emu: Emulator, paced: list[int]
) -> None:
    for n in range(5):
        _create(sdk, f"item {n}")
    emu.reset_stats()
    items = sdk.boards.fetch_all_items_by_board_id(CMS_BOARD_ID, limit=2)
    assert [i.name for i in items] == [f"item {n}" for n in range(5)]
    assert emu.stats.requests == 3
    # The SDK sleeps query / 10M × 60 s after each page but the last, by the complexity the
    # answer reported: what the emulator charged for those pages (the last one's is the rest).
    assert len(paced) == 2 and all(points > 0 for points in paced)
    assert 0 < emu.stats.complexity_used - sum(paced) <= max(paced)


def test_read_by_ids_archive_move_and_delete(sdk: MondayClient, emu: Emulator) -> None:
    keep = _create(sdk, "keep")
    gone = _create(sdk, "gone")
    parent = _create(sdk, "parent")
    sdk.items.create_subitem(parent, "XS", {SIZE: {"labels": ["XS"]}})
    sdk.items.archive_item_by_id(gone)
    group = emu.store.create_group(CMS_BOARD_ID, "MOVED")
    sdk.items.move_item_to_group(keep, group.id)
    items = {i.name: i for i in sdk.items.fetch_items_by_id([keep, gone, parent])}
    assert items["gone"].state == "archived"
    assert items["keep"].state == "active" and items["keep"].group.id == group.id
    [sub] = items["parent"].subitems or []
    assert sub.parent_item.id == parent
    on_board = [i.name for i in sdk.boards.fetch_all_items_by_board_id(CMS_BOARD_ID)]
    assert on_board == ["keep", "parent"]
    sdk.items.delete_item_by_id(keep)
    states = {i.id: i.state for i in sdk.items.fetch_items_by_id([keep, parent])}
    assert states == {keep: "deleted", parent: "active"}


def test_board_and_column_reads(sdk: MondayClient) -> None:
    board = sdk.boards.fetch_boards_by_id(CMS_BOARD_ID).data.boards[0]
    assert board.name == "Customer Master Schedule"
    assert {c.id for c in board.columns or []} >= {UOM, ORDER_NUMBER}
    columns = sdk.boards.fetch_columns_by_board_id(CMS_BOARD_ID)
    raw = columns.response_data["data"]["boards"][0]["columns"]
    assert all(isinstance(c["settings_str"], str) for c in raw)
    found = sdk.items.fetch_items_by_column_value(CMS_BOARD_ID, ORDER_NUMBER, "nothing")
    assert found.data.items_page_by_column_values.items == []


def test_large_board_read_orders_by_last_updated(
    sdk: MondayClient, emu: Emulator, paced: list[int]
) -> None:
    clock = emu.clock
    assert isinstance(clock, ManualClock)
    ids = []
    for n in range(3):
        clock.advance(60)
        ids.append(_create(sdk, f"item {n}"))
    clock.advance(60)
    sdk.items.change_simple_column_value(CMS_BOARD_ID, ids[0], ORDER_NUMBER, "touched")
    items = sdk.boards.fetch_all_items_by_board_id(CMS_BOARD_ID, limit=2, is_large_board=True)
    # ordered by __last_updated__ ascending: the item changed last comes last
    assert [i.id for i in items] == [ids[1], ids[2], ids[0]]
    since = sdk.boards.fetch_item_by_board_id_by_update_date(
        CMS_BOARD_ID, updated_after=items[-1].updated_at, updated_before=""
    )
    assert [i.id for i in since] == [ids[0]]
