"""``plan.diff_line``: change detection of one line against the mirror, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from ordersync.push.plan import LineDiff, diff_line
from ordersync.states import Action

LINE: dict[str, Any] = {
    "item_name": "GMK1234 NAVY",
    "group_title": "GREYSON 2025 FALL",
    "monday_values": {"price": "18.5", "notes": {"text": "Ship complete"}},
    "sizes": {"S": 12, "M": 24, "L": 6},
}
OLD_VALUES = {"price": "18.5", "notes": {"text": "Ship complete"}}
OLD_SIZES: dict[str, int | None] = {"S": 12, "M": 24, "L": 6}


def line(**changes: Any) -> dict[str, Any]:
    return {**LINE, **changes}


def diff(new: dict[str, Any], **old: Any) -> LineDiff:
    return diff_line(
        new,
        old.get("values", OLD_VALUES),
        old.get("name", LINE["item_name"]),
        old.get("group", LINE["group_title"]),
        old.get("sizes", OLD_SIZES),
    )


def test_an_unchanged_line_changes_nothing() -> None:
    assert diff(line()) == LineDiff({}, [], False)


@pytest.mark.parametrize(
    ("new", "old", "columns"),
    [
        ({"price": "77.25", "notes": {"text": "Ship complete"}}, OLD_VALUES, {"price": "77.25"}),
        ({"price": "18.5"}, OLD_VALUES, {"notes": None}),  # a value gone clears the column
        (
            {**OLD_VALUES, "eta": {"date": "2025-07-01"}},
            OLD_VALUES,
            {"eta": {"date": "2025-07-01"}},
        ),
        (
            {"price": "1", "notes": {"text": "x"}},
            OLD_VALUES,
            {"notes": {"text": "x"}, "price": "1"},
        ),
        (OLD_VALUES, {}, OLD_VALUES),  # drift found by pull left the mirror's values empty
    ],
    ids=["changed", "cleared", "added", "two, sorted", "mirror emptied"],
)
def test_only_the_columns_that_differ(
    new: dict[str, Any], old: dict[str, Any], columns: dict[str, Any]
) -> None:
    found = diff(line(monday_values=new), values=old)
    assert found.columns == columns and list(found.columns) == sorted(columns)
    assert found.sizes == [] and not found.moved


def test_the_item_name_is_a_column_named_name() -> None:
    assert diff(line(item_name="GMK1234 WHITE")).columns == {"name": "GMK1234 WHITE"}
    assert diff(line(), name=None).columns == {"name": LINE["item_name"]}


@pytest.mark.parametrize(
    ("sizes", "old_sizes", "expected"),
    [
        ({"S": 12, "M": 30, "L": 6}, OLD_SIZES, [(Action.UPDATE, "M", 24, 30)]),
        ({"S": 12, "M": 24}, OLD_SIZES, [(Action.ARCHIVE, "L", 6, None)]),
        ({**OLD_SIZES, "XL": 3}, OLD_SIZES, [(Action.CREATE, "XL", None, 3)]),
        (
            {"XS": 1, "S": 12, "M": 25},
            OLD_SIZES,
            [
                (Action.CREATE, "XS", None, 1),
                (Action.UPDATE, "M", 24, 25),
                (Action.ARCHIVE, "L", 6, None),
            ],
        ),
        ({"S": 12}, {"S": None}, [(Action.UPDATE, "S", None, 12)]),  # quantity unknown
    ],
    ids=["quantity", "size gone", "new size", "line order, archives last", "unknown qty"],
)
def test_sizes_are_created_updated_and_archived(
    sizes: dict[str, int],
    old_sizes: dict[str, int | None],
    expected: list[tuple[Action, str, int | None, int | None]],
) -> None:
    found = diff(line(sizes=sizes), sizes=old_sizes)
    assert found.sizes == expected and found.columns == {} and not found.moved


def test_a_new_group_moves_the_item() -> None:
    found = diff(line(group_title="GREYSON 2026 SPRING"))
    assert found.moved and found.columns == {} and found.sizes == []
