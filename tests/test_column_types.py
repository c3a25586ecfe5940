"""``column_types``: the one registry of column types. Each type's round trip (source value →
normalised → monday's JSON → read back → the same JSON again, and the import file's cell), its
label rule and display, and the configuration accepting exactly the registry's types."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordersync.column_types import (
    COLUMN_TYPES,
    LABEL_TYPES,
    QUANTITY_COLUMN_TYPE,
    SIZE_COLUMN_TYPE,
    column_type_named,
    shown,
)
from ordersync.config import SyncConfig, parse_config
from ordersync.errors import ConfigError, RowRejected

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

# type, a source value, its normalised value, monday's JSON, the import file's cell
ROUND_TRIPS: list[tuple[str, object, object, Any, str]] = [
    ("text", "  JOO-00505 ", "JOO-00505", "JOO-00505", "JOO-00505"),
    ("long_text", "two\nlines ", "two\nlines", {"text": "two\nlines"}, "two\nlines"),
    ("numbers", "1,234.50", Decimal("1234.5"), "1234.5", "1234.5"),
    ("numbers", "-0", Decimal(0), "0", "0"),
    ("status", " RECEIVED", "RECEIVED", {"label": "RECEIVED"}, "RECEIVED"),
    ("dropdown", "XS ", "XS", {"labels": ["XS"]}, "XS"),
    ("date", "2025-07-01 00:00:00", date(2025, 7, 1), {"date": "2025-07-01"}, "2025-07-01"),
]


def test_the_registry_names_each_type_once_by_its_own_name() -> None:
    assert list(COLUMN_TYPES) == ["text", "long_text", "numbers", "status", "dropdown", "date"]
    assert all(kind.name == name for name, kind in COLUMN_TYPES.items())
    assert {kind for kind, *_ in ROUND_TRIPS} == set(COLUMN_TYPES)  # every type tried below


@pytest.mark.parametrize(("name", "source", "normalised", "monday", "cell"), ROUND_TRIPS)
def test_each_type_round_trips(
    name: str, source: object, normalised: object, monday: Any, cell: str
) -> None:
    kind = COLUMN_TYPES[name]
    assert kind.normalize(source, "COLUMN") == normalised
    assert kind.to_monday(normalised) == monday
    stored = json.dumps(monday)  # monday answers a raw value as a JSON string
    read = kind.from_monday(stored, None)
    assert read == normalised
    assert kind.from_monday(monday, None) == normalised  # already decoded: the same
    assert kind.to_monday_from_read(read) == monday
    assert kind.to_import_text(monday) == cell


def test_a_dropdown_with_several_labels_reads_back_joined_and_writes_the_same_json() -> None:
    dropdown = COLUMN_TYPES["dropdown"]
    monday = dropdown.to_monday(["S", "M"])
    assert monday == {"labels": ["S", "M"]}
    read = dropdown.from_monday(json.dumps(monday), None)
    assert read == "S, M"
    assert dropdown.to_monday_from_read(read) == monday
    assert dropdown.to_import_text(monday) == "S,M"  # the file's separator: no space
    assert COLUMN_TYPES["status"].to_monday_from_read("A, B") == {"label": "A, B"}


@pytest.mark.parametrize("name", list(COLUMN_TYPES))
def test_empty_clears_every_type_and_only_text_keeps_a_blank(name: str) -> None:
    kind = COLUMN_TYPES[name]
    assert kind.normalize(" nan ", "COLUMN") is None
    assert kind.to_monday(None) is None
    assert kind.from_monday(None, None) is None
    assert kind.from_monday(None, "  ") is None
    assert kind.to_import_text(None) == ""
    assert kind.to_monday("  ") == ("  " if name == "text" else None)


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [("numbers", "18,50", "INVALID_NUMBER"), ("date", "31/02/2025", "INVALID_DATE")],
)
def test_parsed_types_reject_what_does_not_read_as_them(name: str, raw: str, code: str) -> None:
    with pytest.raises(RowRejected) as caught:
        COLUMN_TYPES[name].normalize(raw, "COLUMN")
    assert caught.value.code == code and caught.value.column == "COLUMN"


@pytest.mark.parametrize(
    ("name", "value_map", "plain"),
    [
        ("text", None, True),
        ("text", {"A": "B"}, True),  # value maps are for labels
        ("long_text", {"A": "B"}, True),
        ("status", None, True),
        ("status", {"A": "B"}, False),
        ("dropdown", {"A": "B"}, False),
        ("numbers", None, False),
        ("date", None, False),
    ],
)
def test_reads_plain_text_when_nothing_is_parsed_or_mapped(
    name: str, value_map: dict[str, str] | None, plain: bool
) -> None:
    """What lets ``LineBuilder`` read a column as plain text (``clean_text`` alone): a wrong
    answer changes hashes."""
    kind = COLUMN_TYPES[name]
    assert kind.reads_plain_text(value_map) is plain
    if plain:
        assert kind.normalize(" A ", "C", value_map) == "A"


# ------------------------------------------------------------------------------ labels
def test_the_label_types_are_status_and_dropdown() -> None:
    assert sorted(LABEL_TYPES) == ["dropdown", "status"]
    assert SIZE_COLUMN_TYPE.name == "dropdown" and SIZE_COLUMN_TYPE.has_labels
    assert QUANTITY_COLUMN_TYPE.name == "numbers"


@pytest.mark.parametrize(
    ("name", "value", "labels"),
    [
        ("status", {"label": "EACH"}, ["EACH"]),
        ("dropdown", {"labels": ["M", "L"]}, ["M", "L"]),
        ("dropdown", {"labels": []}, []),
        ("dropdown", {"ids": [1]}, []),
        ("status", "EACH", []),
        ("status", None, []),
        ("text", "EACH", []),  # a type without labels names none
        ("long_text", {"text": "EACH"}, []),
    ],
)
def test_labels_in_reads_the_labels_a_value_names(
    name: str, value: object, labels: list[str]
) -> None:
    assert COLUMN_TYPES[name].labels_in(value) == labels


@pytest.mark.parametrize("name", sorted(LABEL_TYPES))
def test_value_maps_apply_to_labels(name: str) -> None:
    kind = COLUMN_TYPES[name]
    mapping = {"ACTIVE": "RECEIVED"}
    assert kind.normalize(" active ", "ORDER TYPE", mapping) == "RECEIVED"
    assert kind.labels_in(kind.to_monday(kind.normalize("ACTIVE", "C", mapping))) == ["RECEIVED"]


# ------------------------------------------------------------------------------ display
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"label": "Done"}, "Done"),
        ({"labels": ["S", "M"]}, "S, M"),
        ({"date": "2025-07-01"}, "2025-07-01"),
        ({"text": "two\nlines"}, "two\nlines"),
        ("42.5", "42.5"),
        ({"other": 1}, "{'other': 1}"),
    ],
)
def test_shown_reads_a_value_by_its_shape(value: object, text: str) -> None:
    assert shown(value) == text


@pytest.mark.parametrize(("name", "source", "normalised", "monday", "cell"), ROUND_TRIPS)
def test_each_type_shows_its_own_values_like_shown(
    name: str, source: object, normalised: object, monday: Any, cell: str
) -> None:
    assert COLUMN_TYPES[name].shown(monday) == shown(monday)


# ------------------------------------------------------------------------------ configuration
def test_an_unknown_type_names_the_types_there_are() -> None:
    with pytest.raises(ValueError, match="unsupported column type 'decimal'") as caught:
        column_type_named("decimal")
    assert all(name in str(caught.value) for name in COLUMN_TYPES)


def _with_type(config: SyncConfig, where: str, type_name: str) -> dict[str, Any]:
    data = copy.deepcopy(config.model_dump(mode="json", by_alias=True))
    if where == "items.columns":
        data["items"]["columns"][0]["type"] = type_name
    elif where == "items.monday_owned":
        data["items"]["monday_owned"][0]["type"] = type_name
    else:
        data["subitems"]["monday_owned"][0]["type"] = type_name
    return data


@pytest.mark.parametrize("where", ["items.columns", "items.monday_owned", "subitems.monday_owned"])
def test_the_configuration_accepts_exactly_the_registry_types(
    config: SyncConfig, where: str
) -> None:
    for name in COLUMN_TYPES:
        parse_config(_with_type(config, where, name))
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_type(config, where, "decimal"))
    message = str(caught.value)
    assert f"{where}.0.type" in message and "unsupported column type 'decimal'" in message
    assert re.search(", ".join(COLUMN_TYPES), message), message


def test_the_configuration_docs_list_the_registry_types() -> None:
    listed = re.search(r"`type` \(([^)]*)\)", DOCS.read_text("utf-8"))
    assert listed is not None
    assert re.findall(r"`(\w+)`", listed.group(1)) == list(COLUMN_TYPES)
