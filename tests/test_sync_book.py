"""Whole-book syncs (``run_book``): one batch per customer under one lock; a customer that fails
does not stop the others, a monday-wide stop does (SQLite and PostgreSQL, emulator in-process)."""

from __future__ import annotations

from typing import Any

import pytest

from ordersync import sync as sync_module
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.sync import run_book

KEY_COLUMN = "text_mkr5wya6"
SCOPES = [Scope("GREYSON", "4755"), Scope("TRACK SMITH", "4755")]


def _keys_on_board(emulator: Emulator) -> set[str]:
    return {i["texts"][KEY_COLUMN][:3] for i in emulator.items(CMS_BOARD_ID)}


def test_one_batch_per_customer_under_one_lock(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[int] = []

    def counting_lock(*args: Any, **kwargs: Any) -> Any:
        taken.append(args[2])
        return board_lock(*args, **kwargs)

    monkeypatch.setattr(sync_module, "board_lock", counting_lock)
    book = run_book(db, config, client, SCOPES)
    assert taken == [CMS_BOARD_ID]  # once, held across both customers
    assert [c.status for c in book.customers] == ["BATCH_COMPLETED", "BATCH_COMPLETED"]
    assert book.exit_code == 0
    batch_ids = {c.outcome.report.batch_id for c in book.customers}  # type: ignore[union-attr]
    assert len(batch_ids) == 2
    assert _keys_on_board(emulator) == {"GRY", "TRK"}


def test_a_failing_customer_does_not_stop_the_next(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    # every attempt (first try + 8 retries) of GREYSON's first item request fails
    emulator.inject(Fault(kind="status", status=500, match="create_item", times=9))
    book = run_book(db, config, client, SCOPES)
    assert [c.status for c in book.customers] == ["FAILED", "BATCH_COMPLETED"]
    assert book.customers[0].error and book.stopped_by is None
    assert book.exit_code == 1
    assert "TRK" in _keys_on_board(emulator)


def test_the_daily_limit_stops_the_customers_left(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="alias_error", code="DAILY_LIMIT_EXCEEDED", match="create_item"))
    book = run_book(db, config, client, SCOPES)
    assert [c.status for c in book.customers] == ["FAILED", "NOT_RUN"]
    assert book.stopped_by and book.exit_code == 1
    assert "TRK" not in _keys_on_board(emulator)
