"""What monday's docs leave open, as emulator switches, each tested both ways: the emulator's
answer, and the client's reaction to it (FACTS.md "Idempotency-Key", "Errors";
docs/monday-errors.md). Also monday's plan presets and the ``emulator`` command's options."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ordersync import cli
from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, PLANS, Emulator, Fault, Limits, Undocumented
from ordersync.errors import PermanentMondayError
from ordersync.monday import MondayClient, documents, reads
from ordersync.monday.column_values import to_monday

URL = "http://emulator/v2"
KEY_COLUMN = "text_mkr5wya6"


def create(name: str, alias: str = "a1", column: str = KEY_COLUMN) -> documents.Mutation:
    return documents.create_item(
        alias,
        board_id=CMS_BOARD_ID,
        item_name=name,
        column_values={column: to_monday("text", name)},
    )


def body(*mutations: documents.Mutation) -> dict[str, Any]:
    document, variables = documents.build_mutation_document(list(mutations), "Deliver")
    return {"query": document, "variables": variables, "operationName": "Deliver"}


def post(emu: Emulator, payload: dict[str, Any], key: str) -> httpx.Response:
    with httpx.Client(transport=emu.transport(), base_url="http://emulator") as raw:
        return raw.post("/v2", json=payload, headers={"Idempotency-Key": key})


def names(emu: Emulator) -> list[str]:
    return sorted(i["name"] for i in emu.items(CMS_BOARD_ID) if i["state"] == "active")


def client_for(emu: Emulator, clock: ManualClock) -> MondayClient:
    return MondayClient(URL, "tok", transport=emu.transport(), clock=clock)


# --- error answers cached under a key, or not --------------------------------------------


@pytest.mark.parametrize("cached", [False, True])
def test_an_error_answer_is_cached_for_its_key_only_when_switched_on(
    clock: ManualClock, cached: bool
) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(cache_error_answers=cached))
    emu.inject(Fault("status", status=500))
    assert post(emu, body(create("E1")), "k-1").status_code == 500
    again = post(emu, body(create("E1")), "k-1")
    if cached:
        assert (again.status_code, again.headers["Idempotency-Replayed"]) == (500, "true")
        assert names(emu) == []
    else:
        assert again.status_code == 200 and "Idempotency-Replayed" not in again.headers
        assert names(emu) == ["E1"]


@pytest.mark.parametrize("cached", [False, True])
def test_the_client_treats_a_replayed_error_as_unknown_instead_of_retrying_it(
    clock: ManualClock, cached: bool
) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(cache_error_answers=cached))
    emu.inject(Fault("status", status=500))
    with client_for(emu, clock) as client:
        result = client.mutate([create("E1")], idempotency_key="k-1")["a1"]
        requests = client.stats.requests
    if cached:
        # Replaying the key cannot tell more: the caller looks the row up (not found here)
        # and sends it again under a new key.
        assert (result.outcome, requests, names(emu)) == ("unknown", 2, [])
    else:
        assert (result.outcome, requests, names(emu)) == ("ok", 2, ["E1"])


def test_a_cached_429_is_escaped_with_a_fresh_key(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(cache_error_answers=True))
    emu.inject(Fault("status", status=429, retry_in_seconds=5))
    with client_for(emu, clock) as client:
        result = client.mutate([create("T1")], idempotency_key="k-1", fresh_key=lambda: "k-2")["a1"]
    assert result.outcome == "ok"
    assert names(emu) == ["T1"]


# --- the same key with a different body --------------------------------------------------


@pytest.mark.parametrize("mode", ["conflict", "replay", "execute"])
def test_a_key_reused_for_another_request(clock: ManualClock, mode: str) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(same_key_other_body=mode))  # type: ignore[arg-type]
    first = post(emu, body(create("FIRST")), "k-1")
    second = post(emu, body(create("SECOND")), "k-1")
    if mode == "conflict":
        assert second.status_code == 409 and "Retry-After" not in second.headers
        assert names(emu) == ["FIRST"]
    elif mode == "replay":
        assert second.headers["Idempotency-Replayed"] == "true"
        assert second.json()["data"] == first.json()["data"]
        assert names(emu) == ["FIRST"]
    else:
        assert second.json()["data"]["a1"]["id"] != first.json()["data"]["a1"]["id"]
        assert names(emu) == ["FIRST", "SECOND"]


@pytest.mark.parametrize("mode", ["conflict", "replay", "execute"])
def test_the_client_never_sends_one_key_with_two_requests(clock: ManualClock, mode: str) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(same_key_other_body=mode))  # type: ignore[arg-type]
    with client_for(emu, clock) as client:
        client.mutate([create("FIRST")], idempotency_key="k-1")
        with pytest.raises(ValueError, match="reused for a different request"):
            client.mutate([create("SECOND")], idempotency_key="k-1")
        assert client.stats.requests == 1
    assert names(emu) == ["FIRST"]


def test_a_conflict_met_after_a_restart_is_permanent(clock: ManualClock) -> None:
    # A new process knows nothing of the key: monday's conflict stops it (delivery then
    # resolves the request by lookup) instead of being retried.
    emu = Emulator(clock=clock)
    post(emu, body(create("FIRST")), "k-1")
    with client_for(emu, clock) as client, pytest.raises(PermanentMondayError) as caught:
        client.mutate([create("SECOND")], idempotency_key="k-1")
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    assert names(emu) == ["FIRST"]


# --- per-alias partial success -----------------------------------------------------------


@pytest.mark.parametrize("with_data", [True, False])
def test_alias_data_beside_errors_or_not(clock: ManualClock, with_data: bool) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(alias_data_with_errors=with_data))
    good, bad = create("GOOD"), create("BAD", "a2", column="no_such_column")
    answer = post(emu, body(good, bad), "k-1").json()
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "InvalidColumnIdException"
    if with_data:
        assert answer["data"]["a1"]["id"] and answer["data"]["a2"] is None
        assert error["path"] == ["a2"]
    else:
        assert answer["data"] is None and "path" not in error
    assert names(emu) == ["GOOD"]  # applied either way


@pytest.mark.parametrize("with_data", [True, False])
def test_the_client_maps_aliases_or_leaves_every_one_unknown(
    clock: ManualClock, with_data: bool
) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(alias_data_with_errors=with_data))
    good, bad = create("GOOD"), create("BAD", "a2", column="no_such_column")
    with client_for(emu, clock) as client:
        results = client.mutate([good, bad], idempotency_key="k-1")
    outcomes = (results["a1"].outcome, results["a2"].outcome)
    # Unknown aliases are looked up by delivery: GOOD is found and adopted, BAD is not.
    assert outcomes == (("ok", "failed") if with_data else ("unknown", "unknown"))
    assert names(emu) == ["GOOD"]


# --- archived items in lookups, or not --------------------------------------------------


@pytest.mark.parametrize("listed", [False, True])
def test_archived_items_are_listed_by_lookups_only_when_switched_on(
    clock: ManualClock, listed: bool
) -> None:
    emu = Emulator(clock=clock, undocumented=Undocumented(archived_in_lookups=listed))
    with client_for(emu, clock) as client:
        parent = int(client.mutate([create("K-1")], idempotency_key="k-1")["a1"].data["id"])
        sub = documents.create_subitem("a1", parent_item_id=parent, item_name="M", column_values={})
        subitem = int(client.mutate([sub], idempotency_key="k-2")["a1"].data["id"])
        for key, item_id in (("k-3", parent), ("k-4", subitem)):
            client.mutate([documents.archive_item("a1", item_id=item_id)], idempotency_key=key)
        by_key = reads.items_by_column_values(
            client.execute, CMS_BOARD_ID, KEY_COLUMN, ["K-1"], include_archived=True
        )
        [read] = client.get_items([parent], column_ids=[], with_subitems=True)
    if listed:
        assert [(i.id, i.state) for i in by_key] == [(parent, "archived")]
        assert [(s.id, s.state) for s in read.subitems] == [(subitem, "archived")]
    else:
        assert by_key == [] and read.subitems == []
    assert names(emu) == []  # the board itself shows neither


# --- plans -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "per_minute", "concurrency", "daily", "budget"),
    [
        ("trial", 1_000, 40, 200, 1_000_000),
        ("standard", 1_000, 40, 1_000, 10_000_000),
        ("pro", 2_500, 100, 10_000, 10_000_000),
        ("enterprise", 5_000, 250, 25_000, 10_000_000),
    ],
)
def test_plan_presets_hold_mondays_figures(
    plan: str, per_minute: int, concurrency: int, daily: int, budget: int
) -> None:
    limits = Limits.for_plan(plan)
    assert (
        limits.requests_per_minute,
        limits.max_concurrency,
        limits.daily_calls,
        limits.complexity_budget,
    ) == (per_minute, concurrency, daily, budget)
    assert (limits.max_query_complexity, limits.items_per_board) == (5_000_000, 10_000)
    assert (limits.ip_requests_per_window, limits.ip_window) == (5_000, 10.0)


def test_a_plan_preset_takes_overrides_and_refuses_unknown_plans() -> None:
    assert Limits.for_plan("pro", daily_calls=3).daily_calls == 3
    assert PLANS["pro"].daily_calls == 10_000
    with pytest.raises(ValueError, match="unknown plan 'gold'"):
        Limits.for_plan("gold")


def test_a_plan_limit_is_enforced(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, limits=Limits.for_plan("trial"))
    with httpx.Client(transport=emu.transport(), base_url="http://emulator") as raw:
        answers = [raw.post("/v2", json={"query": "{ me { id } }"}) for _ in range(201)]
    assert [a.status_code for a in answers[-2:]] == [200, 429]
    assert answers[-1].json()["errors"][0]["extensions"]["code"] == "DAILY_LIMIT_EXCEEDED"


def test_the_emulator_command_takes_a_plan_and_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(
        "ordersync.emulator.serve_forever", lambda *args, **kwargs: served.update(kwargs)
    )
    result = CliRunner().invoke(
        cli.cli,
        ["emulator", "--plan", "standard", "--undocumented", "same_key_other_body=replay"],
    )
    assert result.exit_code == 0, result.output
    assert served["limits"] == Limits.for_plan("standard")
    assert served["undocumented"] == Undocumented(same_key_other_body="replay")
    refused = CliRunner().invoke(cli.cli, ["emulator", "--undocumented", "nope=1"])
    assert refused.exit_code == 2 and "unknown switch 'nope'" in refused.output
