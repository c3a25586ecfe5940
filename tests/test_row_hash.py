"""``lines.line_hash`` covers everything the board shows of a line, and nothing else: the item
name, the group, every pushed column's monday value and the sizes with their quantities."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from ordersync.push.lines import encode_values, hash_encoded, line_hash

BASE: dict[str, Any] = {
    "name": "GMK1234WHITEJOO-00505",
    "group": "GREYSON 2025 FALL",
    "monday_values": {"text_mkr5wya6": "JOO-00505", "numeric_mkr5cact": "18.5"},
    "sizes": {"XS": 12, "M": 3},
}


def _hash(**changes: Any) -> str:
    parts = {**BASE, **changes}
    return line_hash(parts["name"], parts["group"], parts["monday_values"], parts["sizes"])


@pytest.mark.parametrize(
    "change",
    [
        {"name": "GMK1234BLACKJOO-00505"},
        {"group": "GREYSON 2026 SPRING"},
        {"monday_values": {**BASE["monday_values"], "numeric_mkr5cact": "18.6"}},
        {"monday_values": {"text_mkr5wya6": "JOO-00505"}},  # a value cleared
        {"sizes": {"XS": 12, "M": 4}},
        {"sizes": {"XS": 12}},
        {"sizes": {"XS": 12, "M": 3, "L": 1}},
    ],
    ids=["name", "group", "value", "cleared", "quantity", "size-gone", "size-added"],
)
def test_anything_the_board_shows_changes_the_hash(change: dict[str, Any]) -> None:
    assert _hash(**change) != _hash()


def test_order_of_columns_and_sizes_does_not() -> None:
    values = dict(reversed(list(BASE["monday_values"].items())))
    sizes = dict(reversed(list(BASE["sizes"].items())))
    assert _hash(monday_values=values, sizes=sizes) == _hash()
    assert len(_hash()) == 64  # sha256, hex


@pytest.mark.parametrize(
    ("name", "group", "monday_values", "sizes"),
    [
        (BASE["name"], BASE["group"], BASE["monday_values"], BASE["sizes"]),
        (
            'Café "Noir" 🧥\\\n\t',
            "GREYSON 2025 FALL",
            {
                "z": {"labels": ["B", "A"]},
                "a": {"date": "2025-07-01"},
                "m": {"text": 'x "y"\u2028'},
                "b": None,
                "long_text_1": {"text": "é"},
            },
            {"XXL": 1, "S": 240, "32/30": 12},
        ),
        ("", "", {}, {}),
    ],
    ids=["base", "odd-text", "empty"],
)
def test_the_hash_is_of_the_canonical_encoding_byte_for_byte(
    name: str, group: str, monday_values: dict[str, Any], sizes: dict[str, int]
) -> None:
    """The values are encoded once and spliced in (``hash_encoded``): the bytes hashed must be
    those of the one canonical encoding, or every mirror row would look changed."""
    canonical = json.dumps(
        {"name": name, "group": group, "values": monday_values, "sizes": sizes},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert line_hash(name, group, monday_values, sizes) == expected
    assert hash_encoded(name, group, encode_values(monday_values), sizes) == expected
