"""Idempotency-Key: replay without re-applying, conflicts, in-flight duplicates, expiry."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.emulator.limits import IdempotencyCache, IdempotencyOutcome

if TYPE_CHECKING:
    from tests.emulator.conftest import Poster

CREATE = "mutation ($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }"


def _create(gql: Poster, name: str, key: str | None) -> Any:
    return gql(
        CREATE, {"b": CMS_BOARD_ID, "n": name}, headers={"Idempotency-Key": key} if key else None
    )


def test_a_retry_with_the_same_key_is_replayed_not_reapplied(gql: Poster, emu: Emulator) -> None:
    first = _create(gql, "x", "key-1")
    again = _create(gql, "x", "key-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first.headers
    assert len(emu.items(CMS_BOARD_ID)) == 1
    assert emu.stats.mutations == {"create_item": 1}
    assert emu.stats.idempotent_replays == 1


def test_the_same_key_with_another_body_is_a_conflict(gql: Poster, emu: Emulator) -> None:
    _create(gql, "x", "key-1")
    conflict = _create(gql, "y", "key-1")
    assert conflict.status_code == 409
    error = conflict.json()["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert "Retry-After" not in conflict.headers
    assert len(emu.items(CMS_BOARD_ID)) == 1


def test_keys_expire_after_thirty_minutes(gql: Poster, emu: Emulator, clock: ManualClock) -> None:
    _create(gql, "x", "key-1")
    clock.advance(30 * 60 - 1)
    assert _create(gql, "x", "key-1").headers.get("Idempotency-Replayed") == "true"
    clock.advance(1)
    fresh = _create(gql, "x", "key-1")
    assert "Idempotency-Replayed" not in fresh.headers
    assert len(emu.items(CMS_BOARD_ID)) == 2


def test_queries_and_keyless_mutations_ignore_the_cache(gql: Poster, emu: Emulator) -> None:
    query = "query { me { id } }"
    gql(query, headers={"Idempotency-Key": "k"})
    assert "Idempotency-Replayed" not in gql(query, headers={"Idempotency-Key": "k"}).headers
    _create(gql, "x", None)
    _create(gql, "x", None)
    assert len(emu.items(CMS_BOARD_ID)) == 2


def test_an_unapplied_failure_is_not_cached(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("status", status=503))
    assert _create(gql, "x", "key-1").status_code == 503
    retried = _create(gql, "x", "key-1")
    assert retried.status_code == 200
    assert "Idempotency-Replayed" not in retried.headers
    assert len(emu.items(CMS_BOARD_ID)) == 1


def test_an_applied_but_lost_answer_is_replayed(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("partial_errors"))
    lost = _create(gql, "x", "key-1")
    assert lost.json()["data"] is None
    replay = _create(gql, "x", "key-1")
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.json() == lost.json()
    assert len(emu.items(CMS_BOARD_ID)) == 1


def test_a_concurrent_duplicate_gets_409_with_retry_after(gql: Poster, emu: Emulator) -> None:
    running, release = threading.Event(), threading.Event()
    run = emu.service.run

    def slow_run(prepared: Any) -> Any:
        running.set()
        release.wait(timeout=5)
        return run(prepared)

    emu.service.run = slow_run  # type: ignore[method-assign]
    first = threading.Thread(target=_create, args=(gql, "x", "key-1"))
    first.start()
    assert running.wait(timeout=5)
    duplicate = _create(gql, "x", "key-1")
    release.set()
    first.join(timeout=5)
    assert duplicate.status_code == 409
    assert duplicate.headers["Retry-After"] == "1"
    assert duplicate.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(emu.items(CMS_BOARD_ID)) == 1


def test_cache_outcomes(clock: ManualClock) -> None:
    cache = IdempotencyCache(clock, ttl=60)
    assert cache.begin("k", "a") == (IdempotencyOutcome.NEW, None)
    assert cache.begin("k", "a") == (IdempotencyOutcome.IN_FLIGHT, None)
    assert cache.begin("k", "b") == (IdempotencyOutcome.CONFLICT, None)
    cache.abandon("k")
    assert cache.begin("k", "b") == (IdempotencyOutcome.NEW, None)


def test_a_lost_answer_is_recovered_by_retrying_with_the_key(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("lost_response"))
    with pytest.raises(httpx.RemoteProtocolError):
        _create(gql, "x", "key-1")
    replay = _create(gql, "x", "key-1")
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.json()["data"]["create_item"]["id"] == emu.items(CMS_BOARD_ID)[0]["id"]
    assert emu.stats.mutations == {"create_item": 1}


def test_a_timeout_before_applying_lets_the_retry_run(gql: Poster, emu: Emulator) -> None:
    emu.inject(Fault("timeout", after_apply=False))
    with pytest.raises(httpx.ReadTimeout):
        _create(gql, "x", "key-1")
    retried = _create(gql, "x", "key-1")
    assert "Idempotency-Replayed" not in retried.headers
    assert len(emu.items(CMS_BOARD_ID)) == 1


def test_a_forgetting_monday_applies_a_retry_again(gql: Poster, emu: Emulator) -> None:
    """The switch that stands for monday's cache failing: a restart forgets every key, and
    ``remember=False`` keeps none (answers over 1 MB, a spent cache budget)."""
    _create(gql, "x", "key-1")
    emu.forget_idempotency_keys()  # restarted
    assert "Idempotency-Replayed" not in _create(gql, "x", "key-1").headers
    assert _create(gql, "x", "key-1").headers["Idempotency-Replayed"] == "true"
    emu.forget_idempotency_keys(remember=False)
    for _ in range(2):
        assert "Idempotency-Replayed" not in _create(gql, "x", "key-2").headers
    assert len(emu.items(CMS_BOARD_ID)) == 4
    emu.forget_idempotency_keys(remember=True)
    _create(gql, "x", "key-3")
    assert _create(gql, "x", "key-3").headers["Idempotency-Replayed"] == "true"


def test_the_forget_switch_over_http(emu: Emulator) -> None:
    with emu.serve() as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        body = {"query": CREATE, "variables": {"b": CMS_BOARD_ID, "n": "x"}}
        key = {"Idempotency-Key": "key-1"}
        http.post("/v2", json=body, headers=key)
        assert http.post("/emulator/idempotency", json={"forget": True}).json() == {
            "remember": True
        }
        assert "Idempotency-Replayed" not in http.post("/v2", json=body, headers=key).headers
        off = http.post("/emulator/idempotency", json={"remember": False})
        assert off.json() == {"remember": False}
        assert not emu.idempotency.remember
        for bad in ({}, {"forget": False}, {"remember": "no"}, {"other": 1}):
            assert http.post("/emulator/idempotency", json=bad).status_code == 400
    assert len(emu.items(CMS_BOARD_ID)) == 2
