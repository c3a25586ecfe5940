"""Injected faults, in-process: each kind, matching, counting and validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault

if TYPE_CHECKING:
    from tests.emulator.conftest import Poster

CREATE = f'mutation {{ create_item(board_id: {CMS_BOARD_ID}, item_name: "x") {{ id }} }}'
READ = "query { me { id } }"


def _items(emu: Emulator) -> int:
    return len(emu.items(CMS_BOARD_ID))


@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [
        (500, "INTERNAL_SERVER_ERROR", None),
        (503, "SERVICE_UNAVAILABLE", "5"),
        (423, "RESOURCE_LOCKED", "5"),
        (429, "RATE_LIMIT_EXCEEDED", "5"),
    ],
)
def test_status_faults_answer_without_applying(
    gql: Poster, emu: Emulator, status: int, code: str, retry_after: str | None
) -> None:
    retry = None if retry_after is None else int(retry_after)
    emu.inject(Fault("status", status=status, retry_in_seconds=retry))
    response = gql(CREATE)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert response.headers.get("Retry-After") == retry_after
    assert _items(emu) == 0
    assert gql(CREATE).status_code == 200  # times=1: the next request goes through
    assert emu.stats.faults == {"status": 1}


def test_gateway_errors_are_not_json(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("status", status=502))
    response = gql(CREATE)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")


def test_lost_response_applies_then_raises(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("lost_response"))
    with pytest.raises(httpx.RemoteProtocolError):
        gql(CREATE)
    assert _items(emu) == 1
    assert emu.stats.mutations == {"create_item": 1}


@pytest.mark.parametrize(("after_apply", "items"), [(False, 0), (True, 1)])
def test_timeout_before_or_after_apply(
    gql: Poster, emu: Emulator, after_apply: bool, items: int
) -> None:
    emu.inject(Fault("timeout", after_apply=after_apply))
    with pytest.raises(httpx.ReadTimeout):
        gql(CREATE)
    assert _items(emu) == items


def test_partial_errors_apply_but_name_no_alias(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("partial_errors"))
    body = gql(
        'mutation ($b: ID!) { a: create_item(board_id: $b, item_name: "x") { id } '
        'b: create_item(board_id: $b, item_name: "y") { id } }',
        {"b": CMS_BOARD_ID},
    ).json()
    assert body["data"] is None
    assert all("path" not in error for error in body["errors"])
    assert _items(emu) == 2


def test_match_picks_the_root_field(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("status", status=500, match="create_subitem", times=None))
    assert gql(CREATE).status_code == 200
    parent = emu.items(CMS_BOARD_ID)[0]["id"]
    sub = 'mutation ($p: ID!) { create_subitem(parent_item_id: $p, item_name: "XS") { id } }'
    assert [gql(sub, {"p": parent}).status_code for _ in range(3)] == [500, 500, 500]
    assert emu.stats.faults == {"status": 3}


def test_latency_sleeps_on_the_clock(gql: Poster, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("latency", delay=0.25, times=None))
    emu.inject(Fault("status", status=500))
    assert gql(READ).status_code == 500  # latency doesn't stop another fault
    assert gql(READ).status_code == 200
    assert clock.slept == [0.25, 0.25]


def test_faults_validate_their_fields() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")
    with pytest.raises(ValueError, match="HTTP error status"):
        Fault("status")
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_dict({"kind": "status", "status": 500, "colour": "red"})
    assert Fault.from_dict({"kind": "latency", "delay": 1, "times": None}).times is None


def test_faults_over_the_test_endpoint(client: httpx.Client, emu: Emulator, gql: Poster) -> None:
    response = client.post("/emulator/faults", json={"kind": "status", "status": 503})
    assert response.status_code == 200
    assert gql(READ).status_code == 503
    bad = client.post("/emulator/faults", json={"kind": "nope"})
    assert bad.status_code == 400
