"""``lookup``: what may already be on monday is found by key (items) and by parent and size
(subitems), the oldest active one; archived ones are never adopted, whether monday's lookups
list them or not (``Undocumented.archived_in_lookups``, both ways)."""

from __future__ import annotations

import uuid

import pytest

from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.emulator import CMS_BOARD_ID, Emulator, Undocumented
from ordersync.monday import MondayClient, Mutation, documents
from ordersync.push.lookup import find_items, find_subitems

KEY_COLUMN = "text_mkr5wya6"
SIZE_COLUMN = "dropdown_mkrak7qp"


@pytest.fixture(params=[False, True], ids=["active-only", "archived-listed"])
def emulator(request: pytest.FixtureRequest, clock: ManualClock) -> Emulator:
    """The seeded monday, with archived items left out of lookups or listed in them."""
    listed = Undocumented(archived_in_lookups=request.param)
    return Emulator(clock=clock, seed=True, undocumented=listed)


def _make(client: MondayClient, mutation: Mutation) -> int:
    result = client.mutate([mutation], idempotency_key=str(uuid.uuid4()))[mutation.alias]
    assert result.outcome == "ok" and result.data, result.error
    return int(result.data["id"])


def _item(client: MondayClient, key: str) -> int:
    return _make(
        client,
        documents.create_item(
            "a1", board_id=CMS_BOARD_ID, item_name=f"line {key}", column_values={KEY_COLUMN: key}
        ),
    )


def _subitem(client: MondayClient, parent: int, size: str) -> int:
    return _make(
        client,
        documents.create_subitem(
            "a1",
            parent_item_id=parent,
            item_name=size,
            column_values={SIZE_COLUMN: {"labels": [size]}},
            create_labels_if_missing=True,
        ),
    )


def _archive(client: MondayClient, item_id: int) -> None:
    _make(client, documents.archive_item("a1", item_id=item_id))


def test_items_are_found_by_key_oldest_active_first(
    client: MondayClient, config: SyncConfig
) -> None:
    archived = _item(client, "K-1")
    _archive(client, archived)
    first, second = _item(client, "K-1"), _item(client, "K-1")
    other = _item(client, "K-2")

    found = find_items(client, CMS_BOARD_ID, config, ["K-1", "K-2", "K-3"])

    assert found == {"K-1": first, "K-2": other}
    assert second not in found.values() and archived not in found.values()
    assert find_items(client, CMS_BOARD_ID, config, []) == {}


def test_subitems_are_found_by_parent_and_size_never_archived(client: MondayClient) -> None:
    parent, lonely = _item(client, "K-1"), _item(client, "K-2")
    archived_m = _subitem(client, parent, "M")
    _archive(client, archived_m)
    medium, small = _subitem(client, parent, "M"), _subitem(client, parent, "S")
    gone = _subitem(client, lonely, "L")
    _archive(client, gone)

    found = find_subitems(client, [parent, lonely, parent], SIZE_COLUMN)

    assert found == {(parent, "M"): medium, (parent, "S"): small}
    assert find_subitems(client, [], SIZE_COLUMN) == {}
