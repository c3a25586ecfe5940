"""Import files: which staged lines an import job can carry, how they are packed into jobs,
and the CSV each job uploads. Pure functions (rows in, bytes out), so they are tested on
their own.

A line is an item create with its subitem creates; it is never split (a subitem belongs to the
nearest item row above it). The file follows monday's import format (FACTS.md "Bulk import"):
UTF-8, comma, ``"`` quoting, the header ``name``, the board's column ids, ``name.subitem`` and
the subitem columns' ids with ``.subitem``; an item row fills ``name``, a subitem row
``name.subitem``. Values are written by ``column_values.to_import_text`` from the staged
values (the same ones a mutation would send): exact labels, dropdown labels comma-separated,
``YYYY-MM-DD``, decimal numbers. Subitems keep their staged order (the source's size columns).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ordersync.column_types import COLUMN_TYPES, QUANTITY_COLUMN_TYPE, SIZE_COLUMN_TYPE
from ordersync.config import SyncConfig
from ordersync.monday.column_values import to_import_text
from ordersync.monday.models import Column

ROW_LIMITS = {"ingest": 10_000, "backfill": 20_000}
"""Rows (items and subitems together) one job may carry, per kind (FACTS.md)."""

SUBITEM_SUFFIX = ".subitem"


class StagedItem(Protocol):
    stg_id: str
    order_key: str
    item_name: str
    group_title: str
    column_values: str


class StagedSubitem(Protocol):
    stg_id: str
    size_label: str
    column_values: str


@dataclass(frozen=True)
class Line:
    """One item create and its subitem creates, in file order."""

    item: StagedItem
    subitems: tuple[StagedSubitem, ...] = ()

    @property
    def rows(self) -> int:
        return 1 + len(self.subitems)


@dataclass(frozen=True)
class JobPlan:
    """The lines one job carries: one group, at most the kind's row limit."""

    group_id: str
    lines: tuple[Line, ...]

    @property
    def rows(self) -> int:
        return sum(line.rows for line in self.lines)


@dataclass(frozen=True)
class ImportFile:
    """A job's file and what it carries."""

    body: bytes
    digest: str  # sha256 of ``body``
    rows: int
    item_stg_ids: tuple[str, ...]
    subitem_stg_ids: tuple[str, ...]


def plan_jobs(lines: Iterable[Line], group_ids: Mapping[str, str], row_limit: int) -> list[JobPlan]:
    """Pack lines into jobs: one group per job, at most ``row_limit`` rows, lines kept whole.

    A group takes as few jobs as its rows need, of about even size (each at least the group's
    rows / jobs, lines kept whole): the batch's jobs are uploaded together, and where monday
    runs them side by side the batch waits for its largest job, not for a full one beside a
    remainder. Lines keep their order within a group; groups come in order of first
    appearance. A line longer than ``row_limit`` or of a group the board lacks is left out
    (see ``importable``).
    """
    by_group: dict[str, list[Line]] = {}
    for line in lines:
        group_id = group_ids.get(line.item.group_title)
        if group_id is not None and line.rows <= row_limit:
            by_group.setdefault(group_id, []).append(line)
    jobs: list[JobPlan] = []
    for group_id, group_lines in by_group.items():
        total = sum(line.rows for line in group_lines)
        even = _pack(group_lines, row_limit, -(-total // -(-total // row_limit)))
        full = _pack(group_lines, row_limit, row_limit)
        jobs.extend(
            JobPlan(group_id, chunk) for chunk in (even if len(even) <= len(full) else full)
        )
    return jobs


def _pack(lines: list[Line], row_limit: int, target: int) -> list[tuple[Line, ...]]:
    """Lines in order, a job closed once it holds ``target`` rows or the next line would take
    it over ``row_limit``."""
    chunks: list[tuple[Line, ...]] = []
    chunk: list[Line] = []
    rows = 0
    for line in lines:
        if chunk and (rows >= target or rows + line.rows > row_limit):
            chunks.append(tuple(chunk))
            chunk, rows = [], 0
        chunk.append(line)
        rows += line.rows
    if chunk:
        chunks.append(tuple(chunk))
    return chunks


def item_column_types(config: SyncConfig) -> dict[str, str]:
    """Board column id → type, for the pushed item columns in mapping order."""
    return {column.column_id: column.type for column in config.items.columns}


def subitem_column_types(config: SyncConfig) -> dict[str, str]:
    """Subitems board column id → type: the size (dropdown) and quantity (numbers)."""
    return {
        config.subitems.size_column_id: SIZE_COLUMN_TYPE.name,
        config.subitems.qty_column_id: QUANTITY_COLUMN_TYPE.name,
    }


def file_header(config: SyncConfig) -> list[str]:
    """``name``, the item columns, ``name.subitem``, the subitem columns with ``.subitem``."""
    return [
        "name",
        *item_column_types(config),
        f"name{SUBITEM_SUFFIX}",
        *(f"{column_id}{SUBITEM_SUFFIX}" for column_id in subitem_column_types(config)),
    ]


def build_file(config: SyncConfig, lines: Sequence[Line]) -> ImportFile:
    """The CSV of a job's lines (``csv`` module quoting: commas, quotes, newlines survive)."""
    items, subitems = item_column_types(config), subitem_column_types(config)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(file_header(config))
    blank_items, blank_subitems = [""] * len(items), [""] * len(subitems)
    for line in lines:
        values = _values(line.item.column_values)
        writer.writerow(
            [
                line.item.item_name,
                *(to_import_text(kind, values.get(cid)) for cid, kind in items.items()),
                "",
                *blank_subitems,
            ]
        )
        for subitem in line.subitems:
            sub_values = _values(subitem.column_values)
            writer.writerow(
                [
                    "",
                    *blank_items,
                    subitem.size_label,
                    *(to_import_text(kind, sub_values.get(cid)) for cid, kind in subitems.items()),
                ]
            )
    body = buffer.getvalue().encode("utf-8")
    return ImportFile(
        body=body,
        digest=hashlib.sha256(body).hexdigest(),
        rows=sum(line.rows for line in lines),
        item_stg_ids=tuple(line.item.stg_id for line in lines),
        subitem_stg_ids=tuple(s.stg_id for line in lines for s in line.subitems),
    )


def missing_labels(
    line: Line, config: SyncConfig, item_columns: Mapping[str, Column], size_column: Column
) -> frozenset[tuple[str, str]] | None:
    """The (column id, label) pairs ``line`` names that their columns lack and may create.

    A file cannot create labels, so these must be created first (a mutation with
    ``create_labels_if_missing``). ``None``: no file can carry the line as it is (a label it may
    not create, a deactivated label, a label with a comma, the file's separator).
    """
    wanted: list[tuple[Column | None, str, bool]] = []
    values = _values(line.item.column_values)
    for column in config.items.columns:
        for label in COLUMN_TYPES[column.type].labels_in(values.get(column.column_id)):
            wanted.append(
                (item_columns.get(column.column_id), label, column.create_labels_if_missing)
            )
    may_create_sizes = config.subitems.size_labels_create_if_missing
    wanted += [(size_column, s.size_label, may_create_sizes) for s in line.subitems]
    missing: set[tuple[str, str]] = set()
    for board_column, label, may_create in wanted:
        if board_column is None or "," in label or label in board_column.deactivated_labels:
            return None
        if label not in board_column.labels:
            if not may_create:
                return None
            missing.add((board_column.id, label))
    return frozenset(missing)


def fits(line: Line, group_ids: Mapping[str, str], row_limit: int) -> bool:
    """A known group, a name, and not more rows than a job takes."""
    return (
        line.item.group_title in group_ids and line.rows <= row_limit and bool(line.item.item_name)
    )


def importable(
    line: Line,
    config: SyncConfig,
    item_columns: Mapping[str, Column],
    size_column: Column,
    group_ids: Mapping[str, str],
    row_limit: int,
) -> bool:
    """Whether an import file can carry ``line`` as it is: it fits a job, and every status and
    dropdown label (and size) it names is an active label of its column already."""
    return (
        fits(line, group_ids, row_limit)
        and missing_labels(line, config, item_columns, size_column) == frozenset()
    )


def label_seeds(
    lines: Sequence[Line], missing: Sequence[frozenset[tuple[str, str]] | None]
) -> list[Line]:
    """The fewest lines, first come first served, that name every missing label: sent by
    mutation first, they create the labels, and the other lines can then go in files."""
    covered: set[tuple[str, str]] = set()
    seeds = []
    for line, labels in zip(lines, missing, strict=True):
        if labels and not labels <= covered:
            seeds.append(line)
            covered |= labels
    return seeds


def _values(column_values: str | None) -> dict[str, Any]:
    decoded = json.loads(column_values) if column_values else {}
    return decoded if isinstance(decoded, dict) else {}
