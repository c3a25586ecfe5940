"""Item names at monday's limit: 255 characters are sent as they are, 256 are rejected
(ITEM_NAME_TOO_LONG), never cut short."""

from __future__ import annotations

import pytest

from ordersync.config import SyncConfig
from ordersync.push.lines import MAX_ITEM_NAME, LineProblems, OrderLine, build_order_line

# name columns: CUSTOMER STYLE + CUSTOMER COLOUR DESCRIPTION + AAG ORDER NUMBER
KEY, COLOUR = "JOO-00505", "WHITE"


def _build(config: SyncConfig, name_length: int) -> OrderLine | LineProblems:
    style = "S" * (name_length - len(COLOUR) - len(KEY))
    row = {
        "AAG ORDER NUMBER": KEY,
        "CUSTOMER NAME": "GREYSON CLOTHIERS",
        "PO NUMBER": "4755",
        "CUSTOMER SEASON": "2025 FALL",
        "CUSTOMER STYLE": style,
        "CUSTOMER COLOUR DESCRIPTION": COLOUR,
        "ORDER TYPE": "ACTIVE",
        "XS": 3,
    }
    return build_order_line(row, config, ("XS",))


def test_monday_s_limit_is_255() -> None:
    assert MAX_ITEM_NAME == 255  # ../shared/monday/FACTS.md: ItemNameTooLongException, 1–255


def test_a_name_of_exactly_255_characters_is_kept_whole(config: SyncConfig) -> None:
    line = _build(config, 255)
    assert isinstance(line, OrderLine), line
    assert len(line.item_name) == 255 and line.item_name.endswith(COLOUR + KEY)


@pytest.mark.parametrize("length", [256, 300])
def test_a_longer_name_is_rejected_not_cut(config: SyncConfig, length: int) -> None:
    line = _build(config, length)
    assert isinstance(line, LineProblems)
    assert [p.code for p in line.problems] == ["ITEM_NAME_TOO_LONG"]
    assert f"item name is {length} characters" in line.problems[0].message
