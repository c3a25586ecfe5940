"""Requests carry at most ``[delivery] items_per_request`` / ``subitems_per_request`` aliases,
as many per request as allowed (fewest requests), and every row exactly once.

Under a complexity budget too small for a chunk of 50 (200,000 points per 10 s, over real
HTTP), chunks are sized to what is left of the window (``monday.budget``): the sync completes
without a 429, and a crash between chunks of different sizes is resolved by the journal
entry's own aliases, never by a new chunking."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from helpers.crashes import Crash
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator, Limits
from ordersync.monday import MondayClient
from ordersync.monday.budget import UNMEASURED_ALIAS_COST
from ordersync.push.journal import open_entries
from ordersync.push.rows import ItemCreates
from ordersync.push.source import Scope
from ordersync.states import RowStatus
from ordersync.sync import run_sync
from test_exactly_once import assert_exactly_once

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


# ------------------------------------------------------------------ sized to the budget
TINY = Limits.for_plan("pro", complexity_budget=200_000, complexity_window=10)
CHUNKED = ("create_item", "create_subitem")


@dataclass
class Sent:
    """One request as it went over the wire, and monday's complexity report on it."""

    operation: str
    aliases: Counter[str]
    key: str | None
    status: int = 0
    complexity: dict[str, Any] = field(default_factory=dict)


class Recorder(httpx.BaseTransport):
    """Real HTTP to the emulator, noting each request; ``crash`` = (mutation, n, when): the
    process dies before the n-th request carrying that mutation leaves, or after monday
    applied it."""

    def __init__(self, crash: tuple[str, int, str] | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[Sent] = []
        self.crash = crash

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        fields = Counter(re.findall(r"\b\w+\s*:\s*(\w+)\s*\(", body.get("query", "")))
        sent = Sent(
            body.get("operationName", ""),
            Counter({f: fields[f] for f in CHUNKED if fields[f]}),
            request.headers.get("Idempotency-Key"),
        )
        crash = self._crash_now(sent)
        if crash == "crash_before":
            raise Crash("killed before the request left")
        response = self.inner.handle_request(request)
        response.read()
        sent.status = response.status_code
        data = json.loads(response.content).get("data") or {}
        sent.complexity = data.get("complexity") or {}
        self.sent.append(sent)
        if crash == "crash_after":
            raise Crash("killed after monday applied the request")
        return response

    def _crash_now(self, sent: Sent) -> str | None:
        if self.crash is None:
            return None
        field_name, nth, when = self.crash
        if (
            sent.aliases[field_name]
            and sum(1 for s in self.sent if s.aliases[field_name]) + 1 == nth
        ):
            self.crash = None
            return when
        return None

    def close(self) -> None:
        self.inner.close()

    def chunks(self, field_name: str) -> list[Sent]:
        return [s for s in self.sent if s.aliases[field_name] and s.status == 200]


@pytest.fixture
def tiny(clock: ManualClock) -> Iterator[tuple[Emulator, str]]:
    """An emulator with a budget of 200,000 points per 10 s, over real HTTP."""
    emulator = Emulator(clock=clock, seed=True, limits=TINY)
    with emulator.serve() as server:
        yield emulator, server.url
    emulator.close()


def sync_over_http(
    db: Database, config: SyncConfig, url: str, clock: ManualClock, recorder: Recorder
) -> int:
    with MondayClient(url, "t0ken-for-tests", transport=recorder, clock=clock) as client:
        return run_sync(db, config, client, GREYSON).exit_code


def per_alias(sent: Sent) -> float:
    return int(sent.complexity["query"]) / sum(sent.aliases.values())


def test_a_budget_smaller_than_a_chunk_of_50_is_filled_without_a_429(
    db: Database, config: SyncConfig, clock: ManualClock, tiny: tuple[Emulator, str]
) -> None:
    emulator, url = tiny
    recorder = Recorder()
    assert sync_over_http(db, config, url, clock, recorder) == 0
    assert_exactly_once(db, config, emulator)
    assert emulator.stats.throttled == {}  # not one 429
    for field_name in CHUNKED:
        chunks = recorder.chunks(field_name)
        assert 50 * per_alias(chunks[-1]) > TINY.complexity_budget  # 50 would never pass
        sizes = [c.aliases[field_name] for c in chunks]
        assert sizes[0] < max(sizes)  # the first, at the cautious estimate, then measured
        for chunk in chunks[1:-1]:  # no alias more would have fitted in what was left
            left_after = int(chunk.complexity["after"])
            assert left_after < per_alias(chunk), (field_name, sizes)
    first = recorder.chunks("create_subitem")[0]
    last_items = recorder.sent[recorder.sent.index(first) - 1].complexity
    assert last_items["after"] >= UNMEASURED_ALIAS_COST  # room was left after the items ...
    assert first.complexity["before"] == last_items["after"]  # ... and filled, not waited out
    lookups = {s.operation for s in recorder.sent if not s.aliases}
    assert set(ItemCreates.reads_before) <= lookups  # the read kept room for is the one sent


@pytest.mark.parametrize("when", ["crash_before", "crash_after"])
def test_a_resend_after_a_crash_carries_its_journal_entry_not_a_new_chunking(
    db: Database, config: SyncConfig, clock: ManualClock, tiny: tuple[Emulator, str], when: str
) -> None:
    emulator, url = tiny
    recorder = Recorder(crash=("create_subitem", 4, when))
    with pytest.raises(Crash):
        sync_over_http(db, config, url, clock, recorder)
    [entry] = open_entries(db, CMS_BOARD_ID)
    crashed = recorder.chunks("create_subitem")[-1] if when == "crash_after" else None
    assert len(entry.aliases) == 19  # a whole window's chunk at the measured price

    clock.advance(3)  # the new run's client prices nothing yet and finds the window part spent
    resumed = Recorder()
    assert sync_over_http(db, config, url, clock, resumed) == 0
    assert_exactly_once(db, config, emulator)
    assert emulator.stats.throttled == {}
    staged = db.tables.staged_subitems
    with db.engine.connect() as connection:
        carried = connection.execute(
            sa.select(staged.c.stg_id, staged.c.status).where(
                staged.c.request_id == entry.request_id
            )
        ).all()
    assert {row.stg_id for row in carried} == set(entry.aliases.values())
    if crashed is not None:  # applied before the crash: found on the board and adopted
        assert crashed.key == entry.request_id
        assert {row.status for row in carried} == {RowStatus.ADOPTED}
    else:  # never left: resent under its own key, with its own aliases, before anything else
        resent = resumed.chunks("create_subitem")[0]
        assert resent.key == entry.request_id
        assert resent.aliases["create_subitem"] == len(entry.aliases)
        assert {row.status for row in carried} == {RowStatus.DONE}
        # the new client, pricing nothing yet, would have cut another chunk from that window
        assert int(resent.complexity["before"]) // UNMEASURED_ALIAS_COST != len(entry.aliases)
