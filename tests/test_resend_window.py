"""A request whose answer was lost is resolved once, however long the run was down.

monday replays an ``Idempotency-Key``'s first answer for 30 minutes only
(../shared/monday/FACTS.md, "Idempotency-Key"). A request left SENDING is resent under its key
while monday still has the answer, and looked up once it may have forgotten it: resending
after the cache expired would apply the mutations a second time.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpers.crashes import Crash, CrashingTransport, down_for
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.states import JournalState
from ordersync.sync import run_sync

GREYSON = Scope("GREYSON", "4755")
KEY_COLUMN = "text_mkr5wya6"


def _client(transport: object, clock: ManualClock) -> MondayClient:
    return MondayClient("http://emulator.test/v2", "t0ken", transport=transport, clock=clock)  # type: ignore[arg-type]


def _resync_after(
    db: Database,
    config: SyncConfig,
    emulator: Emulator,
    clock: ManualClock,
    crash: str,
    minutes: int,
) -> list[str]:
    """Crash on the first item request, stay down ``minutes``, sync again; returns the
    journal's ``error`` per entry after checking that no item was created twice."""
    crashing = CrashingTransport(emulator, {("create_item", 1): crash})
    with _client(crashing, clock) as client, pytest.raises(Crash):
        run_sync(db, config, client, GREYSON)
    down_for(db, clock, minutes)

    with _client(emulator.transport(), clock) as client:
        outcome = run_sync(db, config, client, GREYSON)

    assert outcome.exit_code == 0
    keys = [i["texts"][KEY_COLUMN] for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"]
    assert len(keys) == len(set(keys)) == 69, "an item was created twice"
    journal = db.tables.journal
    with db.engine.connect() as connection:
        states = connection.execute(sa.select(journal.c.state, journal.c.error)).all()
    assert all(s.state == JournalState.DONE for s in states)
    return [s.error for s in states]


@pytest.mark.parametrize("minutes", [5, 35, 90])
def test_a_lost_answer_is_resolved_by_lookup_whatever_the_time_down(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock, minutes: int
) -> None:
    # monday created 50 items and the answer was lost: they are found and adopted, never
    # resent, even while monday's cache would replay the answer (it may have forgotten it).
    errors = _resync_after(db, config, emulator, clock, "crash_after", minutes)
    assert errors.count("resolved by lookup") == 1


@pytest.mark.parametrize("minutes", [5, 35, 90])
def test_a_request_found_nowhere_is_resent_under_its_key_only_within_the_cache_window(
    db: Database, config: SyncConfig, emulator: Emulator, clock: ManualClock, minutes: int
) -> None:
    # The request never reached monday: nothing to adopt. Within monday's 30-minute cache the
    # same request is resent under its key; after it, the entry is closed and the rows go
    # again under a new key (a resend then could apply a request monday already ran).
    errors = _resync_after(db, config, emulator, clock, "crash_before", minutes)
    assert errors.count("resolved by lookup") == (0 if minutes < 25 else 1)
