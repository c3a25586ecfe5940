"""Import files: which lines a job can carry, how they are packed into jobs, and the CSV, read
back by monday's documented rules (FACTS.md "Bulk import") to the values a mutation sends."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from ordersync.config import SyncConfig
from ordersync.monday.column_values import from_monday, to_import_text, to_monday
from ordersync.monday.models import Column
from ordersync.push.bulk.delivery import wants_bulk
from ordersync.push.bulk.files import (
    ROW_LIMITS,
    Line,
    build_file,
    file_header,
    importable,
    label_seeds,
    missing_labels,
    plan_jobs,
)

KEY, PRICE, DATE, STATUS, DROPDOWN, LONG = (
    "text_mkr5wya6",
    "numeric_mkr5cact",
    "date_mkr5zp5",
    "color_mkr5yf27",
    "dropdown_mkr58de6",
    "long_text_mkr5p0cf",
)
SIZE, QTY = "dropdown_mkrak7qp", "numeric_mkra7j8e"
NASTY_NAMES = [
    'B\'HOOD "DELUXE", 12" x 3',
    "line one\nline two\r\nline three",
    "🧢 CAP — Ünïcode ✓",
    ",leading comma",
    '"',
    "  spaces kept  ",
]


@dataclass(frozen=True)
class Item:
    stg_id: str
    order_key: str
    item_name: str
    group_title: str
    column_values: str


@dataclass(frozen=True)
class Subitem:
    stg_id: str
    size_label: str
    column_values: str


def item(n: int, name: str = "x", group: str = "G1", **values: Any) -> Item:
    column_values = {KEY: f"K-{n:05d}", **values}
    return Item(f"i{n:05d}", f"K-{n:05d}", name, group, json.dumps(column_values))


def subitem(n: int, size: str, qty: int) -> Subitem:
    values = {SIZE: to_monday("dropdown", size), QTY: to_monday("numbers", qty)}
    return Subitem(f"s{n:05d}-{size}", size, json.dumps(values))


def read_back(body: bytes) -> list[dict[str, Any]]:
    """monday's rules: an item row fills ``name``, a subitem row ``name.subitem`` and belongs
    to the nearest item row above; a row with both or neither name is an error here."""
    lines: list[dict[str, Any]] = []
    for row in csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")):
        name, sub_name = row["name"], row["name.subitem"]
        assert bool(name) != bool(sub_name), row
        if name:
            lines.append({"row": row, "subitems": []})
        else:
            assert lines, "a subitem before any item"
            lines[-1]["subitems"].append(row)
    return lines


def test_header_is_name_board_columns_then_subitem_columns(config: SyncConfig) -> None:
    header = file_header(config)
    item_columns = [column.column_id for column in config.items.columns]
    assert header == ["name", *item_columns, "name.subitem", f"{SIZE}.subitem", f"{QTY}.subitem"]
    assert KEY in header  # the key column travels, so the items can be read back by key


def test_names_and_values_survive_a_round_trip(config: SyncConfig) -> None:
    values = {
        PRICE: to_monday("numbers", Decimal("18.50")),
        DATE: to_monday("date", "2026-03-01"),
        STATUS: to_monday("status", "Approved"),
        DROPDOWN: to_monday("dropdown", ["NAVY", "RED"]),
        LONG: to_monday("long_text", 'notes, "quoted"\nsecond line 🧵'),
    }
    lines = [
        Line(
            item(n, name, **values),
            tuple(subitem(n, size, q) for size, q in (("XS", 1), ("S", 20), ("M", 3))),
        )
        for n, name in enumerate(NASTY_NAMES)
    ]
    file = build_file(config, lines)
    back = read_back(file.body)
    assert [line["row"]["name"] for line in back] == NASTY_NAMES
    first = back[0]["row"]
    assert first[PRICE] == "18.5"
    assert first[DATE] == "2026-03-01"
    assert first[STATUS] == "Approved"
    assert first[DROPDOWN] == "NAVY,RED"
    assert first[LONG] == 'notes, "quoted"\nsecond line 🧵'
    assert first[KEY] == "K-00000"
    # subitems under their item, in staged (size-column) order, values in import formats
    for line in back:
        assert [
            (s["name.subitem"], s[f"{SIZE}.subitem"], s[f"{QTY}.subitem"]) for s in line["subitems"]
        ] == [("XS", "XS", "1"), ("S", "S", "20"), ("M", "M", "3")]
    # each import cell reads back to what a mutation would have sent
    for column_id, kind in ((PRICE, "numbers"), (DATE, "date"), (STATUS, "status")):
        assert to_monday(kind, from_monday(kind, None, first[column_id])) == values[column_id]
    assert file.rows == len(NASTY_NAMES) * 4
    assert file.item_stg_ids == tuple(line.item.stg_id for line in lines)
    assert file.subitem_stg_ids == tuple(s.stg_id for line in lines for s in line.subitems)


def test_the_file_is_utf8_csv_and_its_digest_names_its_bytes(config: SyncConfig) -> None:
    lines = [Line(item(1, "🧢 B'HOOD"), (subitem(1, "M", 2),))]
    first, again = build_file(config, lines), build_file(config, lines)
    assert first.body == again.body and first.digest == again.digest
    assert "🧢 B'HOOD".encode() in first.body
    changed = build_file(config, [Line(item(1, "🧢 B'HOOD"), (subitem(1, "M", 3),))])
    assert changed.digest != first.digest
    assert first.body.count(b"\r\n") == 3  # header, item, subitem


def test_empty_values_are_empty_cells(config: SyncConfig) -> None:
    back = read_back(build_file(config, [Line(item(1, "x"))]).body)
    row = back[0]["row"]
    assert row[KEY] == "K-00001"
    assert all(value == "" for column, value in row.items() if column not in ("name", KEY))


@pytest.mark.parametrize(
    ("column_type", "value", "cell"),
    [
        ("numbers", Decimal("18.50"), "18.5"),
        ("numbers", "1e3", "1000"),
        ("numbers", Decimal("-0"), "0"),
        ("numbers", 0, "0"),
        ("date", "2026-01-31 12:00:00", "2026-01-31"),
        ("status", "Done ", "Done"),
        ("dropdown", ["XS", "S"], "XS,S"),
        ("dropdown", "M", "M"),
        ("long_text", "a,\nb", "a,\nb"),
        ("text", "1e28", "1e28"),
        ("text", "  kept  ", "  kept  "),
        ("numbers", None, ""),
    ],
)
def test_import_text_per_column_type(column_type: str, value: Any, cell: str) -> None:
    assert to_import_text(column_type, to_monday(column_type, value)) == cell


def test_import_text_refuses_unknown_types() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        to_import_text("mirror", "x")


def lines_of(sizes: list[int], group: str = "G1", start: int = 0) -> list[Line]:
    return [
        Line(item(start + n, group=group), tuple(subitem(start + n, f"S{k}", 1) for k in range(s)))
        for n, s in enumerate(sizes)
    ]


def test_jobs_are_per_group_within_the_limit_and_lines_are_never_split() -> None:
    lines = lines_of([3, 3, 3, 1], "G1") + lines_of([2, 2], "G2", start=100)
    lines.insert(1, lines.pop())  # groups interleaved in key order
    jobs = plan_jobs(lines, {"G1": "g1", "G2": "g2"}, row_limit=8)
    assert [(job.group_id, job.rows) for job in jobs] == [("g1", 8), ("g1", 6), ("g2", 6)]
    carried = [line for job in jobs for line in job.lines]
    assert sorted(line.item.stg_id for line in carried) == sorted(one.item.stg_id for one in lines)
    for job in jobs:
        assert job.rows <= 8
        assert {line.item.group_title for line in job.lines} == {job.group_id.upper()}
    g1 = [line.item.stg_id for job in jobs if job.group_id == "g1" for line in job.lines]
    assert g1 == sorted(g1)  # order kept


def test_a_line_longer_than_a_job_or_of_an_unknown_group_is_left_out() -> None:
    lines = lines_of([9, 1]) + lines_of([1], "NOPE", start=50)
    jobs = plan_jobs(lines, {"G1": "g1"}, row_limit=8)
    assert [line.item.stg_id for job in jobs for line in job.lines] == ["i00001"]


def test_the_row_limits_are_monday_s() -> None:
    assert ROW_LIMITS == {"ingest": 10_000, "backfill": 20_000}
    jobs = plan_jobs(lines_of([4] * 2001), {"G1": "g1"}, ROW_LIMITS["ingest"])
    assert [job.rows for job in jobs] == [5_005, 5_000]


@pytest.mark.parametrize(
    ("rows", "limit", "expected"),
    [
        ([5] * 5_000, 20_000, [12_500, 12_500]),  # the benchmark's backfill: not 20,000 + 5,000
        ([5] * 5_000, 10_000, [8_335, 8_335, 8_330]),
        ([5] * 4_000, 20_000, [20_000]),  # exactly full: one job
        ([1, 1, 1, 7], 8, [3, 7]),  # a long line last: still two jobs
        ([7, 1, 1, 1], 8, [7, 3]),
        ([2] * 7, 4, [4, 4, 4, 2]),
        ([6, 6, 4, 4], 10, [6, 10, 4]),  # lines whole: three jobs, as filling each would make
    ],
)
def test_a_group_takes_the_fewest_jobs_of_about_even_size(
    rows: list[int], limit: int, expected: list[int]
) -> None:
    lines = lines_of([n - 1 for n in rows])  # a line's rows: its item and its subitems
    jobs = plan_jobs(lines, {"G1": "g1"}, limit)
    assert [job.rows for job in jobs] == expected
    assert [line for job in jobs for line in job.lines] == lines  # in order, each once


def _column(column_id: str, labels: tuple[str, ...], deactivated: tuple[str, ...] = ()) -> Column:
    return Column(column_id, column_id, "status", labels=labels, deactivated_labels=deactivated)


@pytest.mark.parametrize(
    ("values", "sizes", "group", "expected"),
    [
        ({STATUS: {"label": "Approved"}}, ["M"], "G1", True),
        ({STATUS: {"label": "Unknown"}}, ["M"], "G1", False),  # a file cannot create labels
        ({STATUS: {"label": "Old"}}, ["M"], "G1", False),  # deactivated
        ({DROPDOWN: {"labels": ["NAVY", "RED"]}}, ["M"], "G1", True),
        ({DROPDOWN: {"labels": ["NAVY", "NEW"]}}, ["M"], "G1", False),
        ({DROPDOWN: {"labels": ["A,B"]}}, ["M"], "G1", False),  # the separator
        ({}, ["M", "XXXL"], "G1", False),  # a size the subitems board lacks
        ({}, [], "NEW GROUP", False),
        ({}, [], "G1", True),
    ],
)
def test_which_lines_a_file_can_carry(
    config: SyncConfig, values: dict[str, Any], sizes: list[str], group: str, expected: bool
) -> None:
    columns = {
        STATUS: _column(STATUS, ("Approved", "Old"), ("Old",)),
        DROPDOWN: _column(DROPDOWN, ("NAVY", "RED", "A,B")),
    }
    size_column = _column(SIZE, ("XS", "S", "M"))
    line = Line(item(1, "x", group, **values), tuple(subitem(1, s, 1) for s in sizes))
    assert importable(line, config, columns, size_column, {"G1": "g1"}, 10_000) is expected


@pytest.mark.parametrize(
    ("mode", "creates", "version", "expected"),
    [
        ("auto", 500, "2026-10", False),
        ("auto", 501, "2026-10", True),
        ("auto", 5000, "2026-04", False),  # bulk import came with 2026-07
        ("auto", 5000, "2026-07", True),
        ("always", 1, "2026-10", True),
        ("always", 0, "2026-10", False),
        ("never", 100_000, "2026-10", False),
    ],
)
def test_threshold_choice(mode: str, creates: int, version: str, expected: bool) -> None:
    assert wants_bulk(mode, 500, creates, version) is expected


def test_labels_the_board_lacks_are_named_for_creation_first(config: SyncConfig) -> None:
    """dropdown_mkr58de6 may create labels (the mapping says so), the status may not."""
    columns = {STATUS: _column(STATUS, ("Approved",)), DROPDOWN: _column(DROPDOWN, ("NAVY",))}
    size_column = _column(SIZE, ("M",))

    def missing(values: dict[str, Any], sizes: list[str]) -> Any:
        line = Line(item(1, "x", **values), tuple(subitem(1, s, 1) for s in sizes))
        return missing_labels(line, config, columns, size_column)

    assert missing({DROPDOWN: {"labels": ["NAVY"]}}, ["M"]) == frozenset()
    assert missing({DROPDOWN: {"labels": ["NAVY", "TEAL"]}}, ["M", "XXL"]) == {
        (DROPDOWN, "TEAL"),
        (SIZE, "XXL"),
    }
    assert missing({STATUS: {"label": "Rejected"}}, []) is None  # may not be created
    assert missing({DROPDOWN: {"labels": ["A,B"]}}, []) is None  # the file's separator


def test_the_fewest_lines_first_come_create_every_missing_label() -> None:
    lines = lines_of([0] * 5)
    missing = [
        frozenset({("c", "A")}),
        frozenset({("c", "A")}),
        frozenset(),
        None,
        frozenset({("c", "A"), ("c", "B")}),
    ]
    seeds = label_seeds(lines, missing)
    assert [line.item.stg_id for line in seeds] == ["i00000", "i00004"]


def test_sync_bulk_options_override_the_configuration(config: SyncConfig) -> None:
    assert config.delivery.bulk.mode == "auto" and config.delivery.bulk.threshold == 500
    assert config.with_bulk() is config
    changed = config.with_bulk("always", backfill=True)
    assert (changed.delivery.bulk.mode, changed.delivery.bulk.backfill) == ("always", True)
    assert changed.delivery.items_per_request == config.delivery.items_per_request
    assert config.delivery.bulk.mode == "auto"  # the original is untouched
    with pytest.raises(ValueError):
        config.with_bulk("sometimes")
