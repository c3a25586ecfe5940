"""An error on one alias of a request: permanent ones fail that row, retryable ones leave it
pending, and the same run sends it again under a new key.

monday reports per-field limits and locks inside a 200 answer, on the alias concerned: 429
``FIELD_LIMIT_EXCEEDED``, 423 for a locked resource (../shared/monday/FACTS.md, errors table).
Such a row is not refused: it may pass a moment later, so failing it would lose the line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.emulator.api_errors import MondayAPIError
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.states import BatchStatus
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")


def _fail_once(
    emulator: Emulator, method: str, nth: int, error: MondayAPIError
) -> Callable[[], int]:
    """The ``nth`` call of ``Store.<method>`` raises ``error`` (nothing applied); returns a
    counter of the calls made."""
    real = getattr(emulator.store, method)
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            raise error
        return real(*args, **kwargs)

    setattr(emulator.store, method, flaky)
    return lambda: calls


RETRYABLE = [
    pytest.param(MondayAPIError("FIELD_LIMIT_EXCEEDED", "slow down", status_code=429), id="429"),
    pytest.param(MondayAPIError("ResourceLocked", "item is locked", status_code=423), id="423"),
]


@pytest.mark.parametrize("method", ["create_item", "create_subitem"])
@pytest.mark.parametrize("error", RETRYABLE)
def test_a_retryable_error_on_one_alias_leaves_the_row_pending_and_it_is_sent_again(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    method: str,
    error: MondayAPIError,
) -> None:
    calls = _fail_once(emulator, method, 3, error)

    outcome = run_sync(db, config, client, GREYSON)

    assert outcome.exit_code == 0 and outcome.status == BatchStatus.BATCH_COMPLETED
    items = [i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"]
    subitems = [s for s in emulator.items(CMS_SUBITEMS_BOARD_ID) if s["state"] == "active"]
    assert (len(items), len(subitems)) == (69, 264)
    assert calls() == (69 if method == "create_item" else 264) + 1  # the refused one, again
    for errors in (db.tables.item_errors, db.tables.subitem_errors):
        with db.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(errors)).scalar() == 0


def test_a_permanent_error_on_one_alias_fails_only_that_row(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    _fail_once(emulator, "create_subitem", 3, MondayAPIError("InvalidArgumentException", "no"))

    outcome = run_sync(db, config, client, GREYSON)

    assert outcome.exit_code == 3 and outcome.status == BatchStatus.COMPLETED_WITH_ERRORS
    subitems = [s for s in emulator.items(CMS_SUBITEMS_BOARD_ID) if s["state"] == "active"]
    assert len(subitems) == 263
    errors = db.tables.subitem_errors
    with db.engine.connect() as connection:
        (row,) = connection.execute(sa.select(errors)).all()
    assert (row.error_code, row.retryable, row.stage) == (
        "InvalidArgumentException",
        False,
        "DELIVER",
    )


def test_a_size_monday_refused_is_sent_again_by_the_next_sync(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """The line's item update succeeds and its new size is refused: the line must not look
    delivered (its hash is cleared), so the next sync creates the size."""
    from ordersync.push.source import reflect_source

    assert run_sync(db, config, client, GREYSON).exit_code == 0
    sizes = reflect_source(db.engine, config).size_columns
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection:
        line = connection.execute(
            sa.select(table)
            .where(table.c["PO NUMBER"] == "4755")
            .order_by(table.c["AAG ORDER NUMBER"])
            .limit(1)
        ).one()
        empty = next(s for s in sizes if not line._mapping[s])
        key = line._mapping["AAG ORDER NUMBER"]
        connection.execute(
            table.update().where(table.c["AAG ORDER NUMBER"] == key).values({empty: 7})
        )
    _fail_once(emulator, "create_subitem", 1, MondayAPIError("InvalidArgumentException", "no"))

    assert run_sync(db, config, client, GREYSON).exit_code == 3
    again = run_sync(db, config, client, GREYSON)

    assert again.exit_code == 0
    item = next(i for i in emulator.items(CMS_BOARD_ID) if i["texts"]["text_mkr5wya6"] == key)
    names = [
        s["name"]
        for s in emulator.items(CMS_SUBITEMS_BOARD_ID)
        if s["state"] == "active" and s["parent_id"] == item["id"]
    ]
    assert names.count(empty) == 1
    assert run_sync(db, config, client, GREYSON).status == "NO_CHANGES"


class RunawayLoop(BaseException):
    """Raised by the emulator stand-in when a row is sent far more often than allowed."""


def test_a_row_refused_retryably_every_time_is_given_up_after_five_sends(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    from ordersync.push.rows import MAX_ATTEMPTS

    real = emulator.store.create_item
    target: dict[str, str] = {}
    sends = 0

    def always_limited(board_id: Any, item_name: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal sends
        target.setdefault("name", item_name)  # the first item of the first request
        if item_name != target["name"]:
            return real(board_id, item_name, *args, **kwargs)
        sends += 1
        if sends > 20:
            raise RunawayLoop(f"{item_name} sent {sends} times")
        raise MondayAPIError("FIELD_LIMIT_EXCEEDED", "slow down", status_code=429)

    emulator.store.create_item = always_limited  # type: ignore[method-assign]

    outcome = run_sync(db, config, client, GREYSON)

    assert sends == MAX_ATTEMPTS == 5
    assert outcome.exit_code == 3
    items = [i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"]
    assert len(items) == 68
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        (row,) = connection.execute(sa.select(errors)).all()
    assert row.error_code == "DELIVERY_UNCONFIRMED" and "sent 5 times" in row.message
