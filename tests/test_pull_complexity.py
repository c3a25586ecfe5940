"""``pull`` when monday finds a nested page too complex: whatever it calls the error, on the
first page or a later one, the pull falls back to paging the subitems board on its own."""

from __future__ import annotations

from typing import Any

import pytest

from ordersync.clock import ManualClock
from ordersync.config import PullConfig, SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault, Limits, api_errors
from ordersync.monday import MondayClient, documents
from ordersync.monday.classify import QUERY_TOO_COMPLEX
from ordersync.monday.documents import ReadShape
from ordersync.pull.pull import pull_board
from ordersync.pull.recorder import item_columns, subitem_columns


def between_nested_and_separate(config: SyncConfig, clock: ManualClock) -> int:
    """A per-query maximum that refuses a nested page of 500 but admits a separate one."""
    probe = Emulator(clock=clock)
    items, subitems = item_columns(config).ids, subitem_columns(config).ids

    def cost(shape: ReadShape, variables: dict[str, Any]) -> int:
        variables = {"boardId": str(CMS_BOARD_ID), "limit": 500, **variables}
        document = documents.items_page_document(shape)
        return probe.service.prepare(document, variables, "ItemsPage").cost

    nested = cost(
        ReadShape(column_ids=True, subitems=True, subitem_column_ids=True),
        {"columnIds": items, "subitemColumnIds": subitems},
    )
    separate = cost(ReadShape(column_ids=True), {"columnIds": items})
    assert separate < nested
    return (separate + nested) // 2


def _client(emulator: Emulator, clock: ManualClock) -> MondayClient:
    return MondayClient("http://emulator.test/v2", "t", transport=emulator.transport(), clock=clock)


@pytest.mark.parametrize("synced", ["sqlite"], indirect=True)
@pytest.mark.parametrize("code", sorted(QUERY_TOO_COMPLEX))
def test_nested_pull_falls_back_whatever_monday_calls_the_error(
    synced: Database,
    synced_board: dict[str, Any],
    config: SyncConfig,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
) -> None:
    # Today's monday says REQUEST_MAX_COMPLEXITY_EXCEEDED; older answers use the others.
    monkeypatch.setattr(api_errors, "MAX_COMPLEXITY", code)
    ceiling = between_nested_and_separate(config, clock)
    emulator = Emulator(clock=clock, limits=Limits(max_query_complexity=ceiling))
    emulator.store.load_dict(synced_board)
    with _client(emulator, clock) as client:
        report = pull_board(synced, config, client)
    assert emulator.stats.errors[code] == 1
    assert report.paging == "separate"
    assert (report.items_read, report.subitems_read) == (69, 264)


def test_a_later_nested_page_too_complex_switches_to_separate_paging(
    synced: Database, config: SyncConfig, clock: ManualClock, emulator: Emulator
) -> None:
    paged = config.model_copy(update={"pull": PullConfig(page_size=20)})
    with _client(emulator, clock) as client:
        emulator.inject(
            Fault("alias_error", match="next_items_page", code=api_errors.MAX_COMPLEXITY)
        )
        report = pull_board(synced, paged, client)
    assert emulator.stats.faults["alias_error"] == 1
    assert report.paging == "separate"
    assert (report.items_read, report.subitems_read) == (69, 264)
