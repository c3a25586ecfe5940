"""Requests carry at most ``[delivery] items_per_request`` / ``subitems_per_request`` aliases,
as many per request as allowed (fewest requests), and every row exactly once."""

from __future__ import annotations

import json
import re
from collections import Counter

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.source import Scope
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")  # 69 lines, 264 sizes


class CountingTransport(httpx.BaseTransport):
    """The emulator's transport, noting how many of each mutation every request carries."""

    def __init__(self, emulator: Emulator) -> None:
        self.inner = emulator.transport()
        self.requests: list[Counter[str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content).get("query", "")
        fields = re.findall(r"\b\w+\s*:\s*(create_item|create_subitem)\s*\(", query)
        if fields:
            self.requests.append(Counter(fields))
        return self.inner.handle_request(request)


@pytest.mark.parametrize(("items", "subitems"), [(10, 25), (50, 50)])
def test_requests_are_filled_up_to_the_configured_size_and_no_further(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    items: int,
    subitems: int,
) -> None:
    delivery = config.delivery.model_copy(
        update={"items_per_request": items, "subitems_per_request": subitems}
    )
    configured = config.model_copy(update={"delivery": delivery})
    transport = CountingTransport(emulator)
    with MondayClient("http://emulator.test/v2", "t", transport=transport, clock=clock) as client:
        assert run_sync(db, configured, client, GREYSON).exit_code == 0

    item_sizes = [r["create_item"] for r in transport.requests if r["create_item"]]
    subitem_sizes = [r["create_subitem"] for r in transport.requests if r["create_subitem"]]
    assert sum(item_sizes) == 69 and sum(subitem_sizes) == 264
    assert item_sizes == [items] * (69 // items) + ([69 % items] if 69 % items else [])
    assert max(subitem_sizes) == subitems
    assert len(subitem_sizes) == -(-264 // subitems)
