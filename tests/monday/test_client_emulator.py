"""The real client against the emulator, in-process: boards, batches, faults, limits, reads."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Fault, Limits
from ordersync.errors import AuthError, PermanentMondayError, RetryableMondayError
from ordersync.monday import MondayClient, documents
from ordersync.monday.column_values import from_monday, to_monday

URL = "http://emulator/v2"
SIZE, QTY = "dropdown_mkrak7qp", "numeric_mkra7j8e"
KEY_COLUMN, PRICE, ORDER_TYPE = "text_mkr5wya6", "numeric_mkr5cact", "dropdown_mkr518fc"
UNIT = "color_mkr5yf27"


@pytest.fixture
def emu(clock: ManualClock) -> Emulator:
    return Emulator(clock=clock, limits=Limits(), seed=True)


@pytest.fixture
def emu_client(emu: Emulator, clock: ManualClock) -> Iterator[MondayClient]:
    with MondayClient(URL, "tok", transport=emu.transport(), clock=clock) as client:
        yield client


def item_values(order: str, price: Any = "12.50") -> dict[str, Any]:
    return {
        KEY_COLUMN: to_monday("text", order),
        PRICE: to_monday("numbers", price),
        ORDER_TYPE: to_monday("dropdown", "RECEIVED"),
    }


def create_order(client: MondayClient, order: str, key: str) -> int:
    mutation = documents.create_item(
        "a1", board_id=CMS_BOARD_ID, item_name=f"STYLE{order}", column_values=item_values(order)
    )
    result = client.mutate([mutation], idempotency_key=key)["a1"]
    assert result.outcome == "ok", result
    assert result.data is not None
    return int(result.data["id"])


def sizes(parent: int, names: list[str]) -> list[documents.Mutation]:
    return [
        documents.create_subitem(
            f"a{n}",
            parent_item_id=parent,
            item_name=name,
            column_values={SIZE: to_monday("dropdown", name), QTY: to_monday("numbers", n)},
            create_labels_if_missing=True,
        )
        for n, name in enumerate(names, start=1)
    ]


def rows(emu: Emulator, board_id: int) -> list[dict[str, Any]]:
    return [row for row in emu.items(board_id) if row["state"] == "active"]


def test_board_matches_the_real_mapping(emu_client: MondayClient) -> None:
    board = emu_client.get_board(CMS_BOARD_ID)
    assert board.subitems_board_id == CMS_SUBITEMS_BOARD_ID
    assert board.columns[KEY_COLUMN].type == "text"
    assert board.columns[PRICE].type == "numbers"
    assert board.columns[ORDER_TYPE].type == "dropdown"
    assert {"RECEIVED", "CANCELLED"} <= set(board.columns[ORDER_TYPE].labels)
    assert board.columns["subtasks_mkr5c0kp"].type == "subtasks"
    subitems_board = emu_client.get_board(CMS_SUBITEMS_BOARD_ID)
    assert subitems_board.columns[SIZE].type == "dropdown"
    assert subitems_board.columns[QTY].type == "numbers"


def test_item_and_subitems_in_batches(emu: Emulator, emu_client: MondayClient) -> None:
    parent = create_order(emu_client, "JOO-00505", "k-item")
    results = emu_client.mutate(
        sizes(parent, ["XS", "S", "M", "32/30", "2T"]), idempotency_key="k-sizes"
    )
    assert {r.outcome for r in results.values()} == {"ok"}
    assert {r.data["board"]["id"] for r in results.values() if r.data} == {
        str(CMS_SUBITEMS_BOARD_ID)
    }
    subitems = rows(emu, CMS_SUBITEMS_BOARD_ID)
    assert sorted(s["name"] for s in subitems) == ["2T", "32/30", "M", "S", "XS"]
    assert {int(s["parent_id"]) for s in subitems} == {parent}
    assert emu.stats.mutations == {"create_item": 1, "create_subitem": 5}
    assert emu_client.stats.mutations_sent == 6

    (item,) = emu_client.get_items([parent], with_subitems=True)
    assert from_monday("numbers", item.values[PRICE].value, item.values[PRICE].text) == Decimal(
        "12.5"
    )
    assert from_monday("dropdown", item.values[ORDER_TYPE].value, item.values[ORDER_TYPE].text) == (
        "RECEIVED"
    )
    by_size = {
        from_monday("dropdown", s.values[SIZE].value, s.values[SIZE].text): from_monday(
            "numbers", s.values[QTY].value, s.values[QTY].text
        )
        for s in item.subitems
    }
    assert by_size == {"XS": 1, "S": 2, "M": 3, "32/30": 4, "2T": 5}


def test_one_bad_alias_fails_alone(emu: Emulator, emu_client: MondayClient) -> None:
    good = documents.create_item(
        "a1", board_id=CMS_BOARD_ID, item_name="GOOD", column_values=item_values("A-1")
    )
    bad = documents.create_item(
        "a2",
        board_id=CMS_BOARD_ID,
        item_name="BAD",
        column_values={UNIT: to_monday("status", "NO SUCH LABEL")},
    )
    also_good = documents.create_item(
        "a3", board_id=CMS_BOARD_ID, item_name="ALSO", column_values=item_values("A-3")
    )
    results = emu_client.mutate([good, bad, also_good], idempotency_key="k-mixed")
    assert results["a1"].outcome == "ok" and results["a3"].outcome == "ok"
    assert results["a2"].outcome == "failed"
    assert isinstance(results["a2"].error, PermanentMondayError)
    assert results["a2"].error.code == "ColumnValueException"
    assert sorted(row["name"] for row in rows(emu, CMS_BOARD_ID)) == ["ALSO", "GOOD"]


def test_server_error_is_retried_and_applied_once(
    emu: Emulator, emu_client: MondayClient, clock: ManualClock
) -> None:
    emu.inject(Fault(kind="status", status=502, match="create_item", times=2))
    create_order(emu_client, "R-1", "k-502")
    assert emu.stats.mutations["create_item"] == 1
    assert emu_client.stats.retries == 2
    assert len(clock.slept) == 2


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "lost_response", "match": "create_item"},
        {"kind": "timeout", "match": "create_item", "after_apply": True},
    ],
    ids=["lost response", "timeout after apply"],
)
def test_lost_answer_is_replayed_not_reapplied(
    emu: Emulator, emu_client: MondayClient, fault: dict[str, Any]
) -> None:
    emu.inject(Fault(**fault))
    item_id = create_order(emu_client, "L-1", "k-lost")
    assert emu.stats.mutations["create_item"] == 1
    assert emu.stats.idempotent_replays == 1
    assert emu_client.stats.replayed == 1
    assert [int(row["id"]) for row in rows(emu, CMS_BOARD_ID)] == [item_id]


def test_timeout_before_apply_is_retried(emu: Emulator, emu_client: MondayClient) -> None:
    emu.inject(Fault(kind="timeout", match="create_item", after_apply=False))
    create_order(emu_client, "T-1", "k-timeout")
    assert emu.stats.mutations["create_item"] == 1
    assert emu.stats.idempotent_replays == 0


def test_errors_naming_no_alias_leave_outcomes_unknown_for_lookup(
    emu: Emulator, emu_client: MondayClient
) -> None:
    parent = create_order(emu_client, "P-1", "k-parent")
    emu.inject(Fault(kind="partial_errors", match="create_subitem"))
    results = emu_client.mutate(sizes(parent, ["S", "M"]), idempotency_key="k-partial")
    assert {r.outcome for r in results.values()} == {"unknown"}
    # The caller resolves by lookup: the emulator did apply them.
    (item,) = emu_client.get_items([parent], with_subitems=True)
    assert sorted(s.name for s in item.subitems) == ["M", "S"]


def test_rate_limit_waits_retry_in_seconds(
    emu: Emulator, emu_client: MondayClient, clock: ManualClock
) -> None:
    emu.inject(Fault(kind="status", status=429, match="create_item", retry_in_seconds=7))
    create_order(emu_client, "RL-1", "k-429")
    assert clock.slept == [7]
    assert emu_client.stats.throttled == 1
    assert emu.stats.mutations["create_item"] == 1


def test_locked_board_is_retried(emu: Emulator, emu_client: MondayClient) -> None:
    emu.inject(Fault(kind="status", status=423, match="create_item"))
    create_order(emu_client, "LK-1", "k-423")
    assert emu.stats.mutations["create_item"] == 1


def test_retries_run_out(emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault(kind="status", status=503, match="create_item", times=None))
    with MondayClient(URL, "tok", transport=emu.transport(), clock=clock, max_retries=3) as client:
        with pytest.raises(RetryableMondayError):
            create_order(client, "X-1", "k-503")
        assert client.stats.requests == 4
    assert emu.stats.mutations["create_item"] == 0


def test_pacing_keeps_under_the_complexity_budget(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, limits=Limits(complexity_budget=65_000), seed=True)
    with MondayClient(URL, "tok", transport=emu.transport(), clock=clock) as client:
        parent = create_order(client, "B-1", "k-budget-item")
        for batch in range(4):
            names = [f"S{batch}-1", f"S{batch}-2"]
            results = client.mutate(sizes(parent, names), idempotency_key=f"k-budget-{batch}")
            assert {r.outcome for r in results.values()} == {"ok"}
        assert client.stats.paced_seconds > 0
        assert client.stats.throttled == 0
    assert sum(emu.stats.throttled.values()) == 0
    assert emu.stats.mutations["create_subitem"] == 8


def test_wrong_token_is_an_auth_error_without_the_token(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, seed=True, token="the-right-token-0123456789")
    wrong = "a-wrong-token-9876543210"
    with MondayClient(URL, wrong, transport=emu.transport(), clock=clock) as client:
        with pytest.raises(AuthError) as caught:
            client.get_board(CMS_BOARD_ID)
        assert wrong not in str(caught.value) and wrong not in repr(client)
        assert client.stats.requests == 1


def test_reads_page_look_up_and_see_archives(emu: Emulator, emu_client: MondayClient) -> None:
    ids = [create_order(emu_client, f"PG-{n}", f"k-pg-{n}") for n in range(5)]
    items = list(emu_client.iter_items(CMS_BOARD_ID, column_ids=[KEY_COLUMN], page_size=2))
    assert [i.id for i in items] == ids
    assert set(items[0].values) == {KEY_COLUMN}
    assert emu_client.stats.requests == 5 + 3

    found = emu_client.items_by_column_values(CMS_BOARD_ID, KEY_COLUMN, ["PG-1", "PG-3", "nope"])
    assert sorted(i.id for i in found) == [ids[1], ids[3]]

    archived = emu_client.mutate(
        [documents.archive_item("a1", item_id=ids[0])], idempotency_key="k-archive"
    )
    assert archived["a1"].outcome == "ok"
    states = {i.id: i.state for i in emu_client.get_items(ids[:2])}
    assert states == {ids[0]: "archived", ids[1]: "active"}
    assert [i.id for i in emu_client.iter_items(CMS_BOARD_ID)] == ids[1:]


def test_update_and_clear_values(emu: Emulator, emu_client: MondayClient) -> None:
    item_id = create_order(emu_client, "U-1", "k-u")
    change = documents.change_multiple_column_values(
        "a1",
        board_id=CMS_BOARD_ID,
        item_id=item_id,
        column_values={PRICE: to_monday("numbers", Decimal("99.95")), ORDER_TYPE: None},
    )
    assert emu_client.mutate([change], idempotency_key="k-change")["a1"].outcome == "ok"
    (item,) = emu_client.get_items([item_id], column_ids=[PRICE, ORDER_TYPE])
    assert from_monday("numbers", item.values[PRICE].value, item.values[PRICE].text) == Decimal(
        "99.95"
    )
    assert (
        from_monday("dropdown", item.values[ORDER_TYPE].value, item.values[ORDER_TYPE].text) is None
    )


def test_create_group_then_an_item_in_it(emu: Emulator, emu_client: MondayClient) -> None:
    group = emu_client.create_group(CMS_BOARD_ID, "GREYSON 2025 FALL", idempotency_key="k-g")
    assert emu_client.get_board(CMS_BOARD_ID).group_by_title("GREYSON 2025 FALL") == group
    mutation = documents.create_item(
        "a1", board_id=CMS_BOARD_ID, item_name="G-1", group_id=group.id, column_values={}
    )
    assert emu_client.mutate([mutation], idempotency_key="k-gi")["a1"].outcome == "ok"
    assert [row["group_title"] for row in rows(emu, CMS_BOARD_ID)] == ["GREYSON 2025 FALL"]


def test_legacy_error_format(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, seed=True, legacy_errors=True)
    with MondayClient(URL, "tok", transport=emu.transport(), clock=clock) as client:
        good = documents.create_item(
            "a1", board_id=CMS_BOARD_ID, item_name="OK", column_values=item_values("LG-1")
        )
        bad = documents.create_item(
            "a2", board_id=CMS_BOARD_ID, item_name="BAD", column_values={UNIT: {"label": "??"}}
        )
        results = client.mutate([good, bad], idempotency_key="k-legacy")
        # The legacy body names no alias: the applied one is ok, the other unknown.
        assert results["a1"].outcome == "ok"
        assert results["a2"].outcome == "unknown"
        with pytest.raises(PermanentMondayError):
            client.get_board(1)


def test_a_key_reused_for_another_request_is_refused(
    emu: Emulator, emu_client: MondayClient, clock: ManualClock
) -> None:
    create_order(emu_client, "K-1", "k-reused")
    with pytest.raises(ValueError, match="reused for a different request"):
        create_order(emu_client, "K-2", "k-reused")  # the client itself refuses
    with (
        MondayClient(URL, "tok", transport=emu.transport(), clock=clock) as restarted,
        pytest.raises(PermanentMondayError) as caught,
    ):
        create_order(restarted, "K-2", "k-reused")  # a new process: monday refuses
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    assert clock.slept == []
    assert emu.stats.mutations["create_item"] == 1


def test_same_key_and_request_again_is_a_replay(emu: Emulator, emu_client: MondayClient) -> None:
    first = create_order(emu_client, "K-3", "k-again")
    assert create_order(emu_client, "K-3", "k-again") == first
    assert emu.stats.mutations["create_item"] == 1
    assert emu_client.stats.replayed == 1
