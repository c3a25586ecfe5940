"""The emulator over real HTTP (loopback): GraphQL, test endpoints, transport faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault, RunningServer

CREATE = f'mutation {{ create_item(board_id: {CMS_BOARD_ID}, item_name: "x") {{ id }} }}'


@pytest.fixture
def server(emu: Emulator) -> Iterator[RunningServer]:
    with emu.serve() as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        yield client


def test_graphql_over_http(server: RunningServer, http: httpx.Client, emu: Emulator) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v2")
    response = http.post(server.url, json={"query": CREATE})
    assert response.status_code == 200
    assert response.json()["data"]["create_item"]["id"]
    assert emu.stats.mutations == {"create_item": 1}


def test_test_endpoints(http: httpx.Client, emu: Emulator) -> None:
    http.post("/v2", json={"query": CREATE})
    items = http.get("/emulator/items", params={"board_id": CMS_BOARD_ID}).json()
    assert [i["name"] for i in items] == ["x"]
    assert http.get("/emulator/stats").json()["mutations"] == {"create_item": 1}
    assert http.post("/emulator/reset-stats").status_code == 200
    assert http.get("/emulator/stats").json()["requests"] == 0
    assert http.get("/emulator/items", params={"board_id": 1}).status_code == 404
    assert http.get("/nowhere").status_code == 404
    assert http.get("/v2").status_code == 405


def test_lost_response_closes_the_connection(http: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault("lost_response"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v2", json={"query": CREATE})
    assert len(emu.items(CMS_BOARD_ID)) == 1
    assert http.post("/v2", json={"query": CREATE}).status_code == 200


def test_timeout_holds_the_connection(server: RunningServer, emu: Emulator) -> None:
    emu.inject(Fault("timeout", delay=0.5))
    with (
        httpx.Client(base_url=server.base_url, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/v2", json={"query": CREATE})
    assert emu.items(CMS_BOARD_ID) == []


def test_status_fault_over_http(http: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault("status", status=423, retry_in_seconds=2))
    response = http.post("/v2", json={"query": CREATE})
    assert response.status_code == 423
    assert response.headers["Retry-After"] == "2"


def test_latency_over_http_sleeps_for_real_not_on_the_clock(
    http: httpx.Client, emu: Emulator
) -> None:
    emu.inject(Fault("latency", delay=0.01))
    assert http.post("/v2", json={"query": "{ me { id } }"}).status_code == 200
    assert emu.stats.faults == {"latency": 1}
    assert emu.clock.slept == []  # type: ignore[attr-defined]
