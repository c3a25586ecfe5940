"""Chunk sizes (``monday.budget``): as many aliases as fit in what is left of the window at the
price monday last charged, the whole next window when not one fits, one before any answer."""

from __future__ import annotations

import pytest

from ordersync.monday import Mutation, documents
from ordersync.monday.budget import MAX_QUERY_COMPLEXITY, UNMEASURED_ALIAS_COST, chunk_size
from ordersync.monday.models import Complexity
from ordersync.monday.pacing import Pacer
from ordersync.push import rows

BUDGET = 200_000
POLICY = {"RateLimit-Policy": f'"complexityMinute";q={BUDGET};w=10'}


def told(left: int, *, query: int = 0, aliases: int = 0, kind: str = "create_item") -> Pacer:
    """A pacer that saw the budget's policy and an answer leaving ``left`` points, which
    charged ``query`` for ``aliases`` aliases of ``kind`` (nothing measured when 0)."""
    pacer = Pacer()
    pacer.observe_headers(POLICY, now=0)
    answer = Complexity(before=left + query, query=query, after=left, reset_in_seconds=10)
    pacer.observe(answer, {kind: aliases} if aliases else {"GetBoard": 1}, now=0)
    return pacer


def test_one_alias_before_any_answer() -> None:
    assert chunk_size(Pacer(), "create_item", 50, now=0) == 1


def test_an_unpriced_mutation_is_sized_at_the_cautious_estimate() -> None:
    pacer = told(BUDGET)
    assert chunk_size(pacer, "create_item", 50, now=0) == BUDGET // UNMEASURED_ALIAS_COST == 16


def test_what_is_left_of_the_window_is_filled_at_the_measured_price() -> None:
    pacer = told(95_000, query=100_110, aliases=10)  # 10,011 an alias
    assert chunk_size(pacer, "create_item", 50, now=1) == 9  # 90,099 of 95,000


def test_cheap_answers_grow_the_chunk_and_dear_ones_shrink_it() -> None:
    pacer = told(BUDGET, query=UNMEASURED_ALIAS_COST * 4, aliases=4, kind="create_subitem")
    assert chunk_size(pacer, "create_subitem", 100, now=0) == 16  # 12,500 an alias
    answers = [(2_000, 80), (20_000, 8), (5_000, 32)]  # (points an alias, chunk that fits)
    for now, (price, fits) in enumerate(answers, 1):
        pacer.observe(
            Complexity(before=BUDGET, query=price * 10, after=160_000, reset_in_seconds=9),
            {"create_subitem": 10},
            now=now,
        )
        assert chunk_size(pacer, "create_subitem", 100, now=now) == fits  # of 160,000 left
    assert chunk_size(pacer, "create_subitem", 20, now=3) == 20  # never over the cap


def test_when_not_one_alias_fits_the_whole_next_window_is_sized() -> None:
    pacer = told(9_000, query=100_110, aliases=10)
    assert chunk_size(pacer, "create_item", 50, now=1) == BUDGET // 10_011 == 19


def test_after_the_reset_the_whole_window_is_there() -> None:
    pacer = told(9_000, query=100_110, aliases=10)
    assert pacer.left(now=10) is None
    assert chunk_size(pacer, "create_item", 50, now=10) == 19


def test_reads_sent_before_the_chunk_are_kept_room_for() -> None:
    pacer = told(BUDGET, query=100_110, aliases=10)
    lookup = Complexity(before=BUDGET, query=24_011, after=BUDGET - 24_011, reset_in_seconds=9)
    pacer.observe(lookup, {"ItemsByColumnValues": 1}, now=0)
    before = ("ItemsByColumnValues",)
    left = BUDGET - 24_011
    assert chunk_size(pacer, "create_item", 50, now=0, reads_before=before) == 15
    assert chunk_size(pacer, "create_item", 50, now=0) == left // 10_011 == 17
    assert (left - 24_011) // 10_011 == 15


def test_the_configured_cap_and_monday_s_query_maximum_bound_the_chunk() -> None:
    big = Pacer()
    big.observe_headers({"RateLimit-Policy": '"complexityMinute";q=100000000;w=60'}, now=0)
    big.observe(
        Complexity(before=10**8, query=400_000, after=10**8 - 400_000, reset_in_seconds=60),
        {"create_item": 1},
        now=0,
    )
    assert chunk_size(big, "create_item", 200, now=0) == MAX_QUERY_COMPLEXITY // 400_000 == 12
    assert chunk_size(big, "create_item", 5, now=0) == 5


def test_a_single_alias_dearer_than_the_window_is_still_sent_alone() -> None:
    pacer = told(BUDGET, query=300_000, aliases=1)
    assert chunk_size(pacer, "create_item", 50, now=0) == 1


def test_without_a_policy_the_most_seen_left_stands_for_the_budget() -> None:
    pacer = Pacer()
    pacer.observe(
        Complexity(before=150_000, query=100_110, after=49_890, reset_in_seconds=10),
        {"create_item": 10},
        now=0,
    )
    assert pacer.budget == 150_000
    assert chunk_size(pacer, "create_item", 50, now=0) == 4  # 40,044 of 49,890
    assert chunk_size(pacer, "create_item", 50, now=10) == 14  # a window of at least 150,000


@pytest.mark.parametrize("left", [0, 10_010])
def test_a_spent_window_is_not_filled(left: int) -> None:
    pacer = told(left, query=100_110, aliases=10)
    assert chunk_size(pacer, "create_item", 50, now=1) == 19


@pytest.mark.parametrize(
    ("kind", "mutation"),
    [
        (rows.ItemCreates, documents.create_item("a", board_id=1, item_name="n", column_values={})),
        (
            rows.ItemUpdates,
            documents.change_multiple_column_values("a", board_id=1, item_id=2, column_values={}),
        ),
        (rows.ItemMoves, documents.move_item_to_group("a", item_id=2, group_id="g")),
        (rows.ItemArchives, documents.archive_item("a", item_id=2)),
        (
            rows.SubitemCreates,
            documents.create_subitem("a", parent_item_id=2, item_name="S", column_values={}),
        ),
        (
            rows.SubitemUpdates,
            documents.change_multiple_column_values("a", board_id=1, item_id=3, column_values={}),
        ),
        (rows.SubitemArchives, documents.archive_item("a", item_id=3)),
    ],
)
def test_each_kind_of_row_is_sized_by_the_price_of_the_mutation_it_sends(
    kind: type[rows.RowKind], mutation: Mutation
) -> None:
    assert kind.field == mutation.field
