"""``ordersync check-board``: the board against the mapping and the data, before anything is sent.

Reads the board and its subitems board (two requests, nothing written) and the scoped source
(set-based: one ``SELECT … GROUP BY`` per label column, one for the groups, one for the sizes),
and reports:

* problems (exit 1): a mapped column missing or of another type (the same check ``sync`` makes
  before sending: ``BoardContext.mapping_problems``); a status/dropdown label, or a size, the
  source would send that is missing or deactivated where the row would be rejected;
* warnings (exit 3): such a label in a column whose ``on_invalid = "skip_value"`` (the value is
  left out, the row goes);
* notes (exit 0): labels monday would create (``create_labels_if_missing``), groups ordersync
  would create.

Each label is computed by the run's own rules (``LineBuilder``: value maps, the canonical
customer, normalisation), and judged by the run's own test (``board.label_usable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from ordersync.column_types import SIZE_COLUMN_TYPE
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.errors import ExitCode, RowRejected
from ordersync.monday import MondayClient
from ordersync.push.board import BoardContext, label_usable
from ordersync.push.lines import LineBuilder
from ordersync.push.source import SourceTable, customers_condition, distinct_counts, reflect_source

Level = Literal["problem", "warning", "note"]
EXIT_CODES = {"problem": ExitCode.FAILED, "warning": ExitCode.REJECTED, "note": ExitCode.OK}


@dataclass(frozen=True)
class Finding:
    """One thing check-board found: its level, what it is about, and how many lines carry it."""

    level: Level
    kind: str  # "column", "label", "size", "group"
    message: str
    lines: int | None = None
    created: dict[str, int] | None = None  # notes: each name to be created → its lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "kind": self.kind,
            "message": self.message,
            "lines": self.lines,
            **({"created": self.created} if self.created is not None else {}),
        }


@dataclass
class BoardCheck:
    """The outcome of ``check_board``."""

    board_id: int
    subitems_board_id: int
    customers: list[str] | None  # None: the whole source
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        level: Level,
        kind: str,
        message: str,
        lines: int | None = None,
        created: dict[str, int] | None = None,
    ) -> None:
        self.findings.append(Finding(level, kind, message, lines, created))

    def of(self, level: Level) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == level]

    @property
    def exit_code(self) -> ExitCode:
        """FAILED (1) with problems, else REJECTED (3) with warnings, else OK."""
        return ExitCode.worst(EXIT_CODES[finding.level] for finding in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "subitems_board_id": self.subitems_board_id,
            "customers": self.customers,
            "lines": self.lines,
            "problems": len(self.of("problem")),
            "warnings": len(self.of("warning")),
            "exit_code": self.exit_code,
            "findings": [finding.as_dict() for finding in self.findings],
        }


def check_board(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    *,
    mode: str | None = None,
    customers: Sequence[str] | None = None,
) -> BoardCheck:
    """Check the board of ``mode`` against the mapping and the lines of ``customers``.

    Args:
        customers: canonical names or aliases; ``None`` checks every line of the source.

    Raises:
        ConfigError: unknown mode, no board configured, the board not on monday, no subitems
            column, or a configuration the source does not match.
    """
    context = BoardContext.read(client, config, config.board_id(mode))
    report = BoardCheck(
        context.board_id,
        context.subitems_board.id,
        None if customers is None else [config.canonical_customer(c) for c in customers],
    )
    for message in context.mapping_problems():
        report.add("problem", "column", message)
    source = reflect_source(db.engine, config)
    where = customers_condition(source, config, customers)
    builder = LineBuilder(config, source.size_columns)
    with db.engine.connect() as connection:
        report.lines = connection.execute(
            sa.select(sa.func.count()).select_from(source.table).where(where)
        ).scalar_one()
        lines = _ScopedLines(context, builder, connection, source, where)
        _check_labels(report, lines)
        _check_sizes(report, lines)
        _check_groups(report, lines)
    return report


@dataclass(frozen=True)
class _ScopedLines:
    """The scoped lines of the source as the checks read them: set-based, never row by row."""

    context: BoardContext
    builder: LineBuilder
    connection: sa.Connection
    source: SourceTable
    where: sa.ColumnElement[bool]

    def distinct(self, columns: list[str]) -> list[tuple[tuple[Any, ...], int]]:
        """Each distinct combination of ``columns`` among the lines, with its line count."""
        return distinct_counts(self.connection, self.source, columns, self.where)


def _check_labels(report: BoardCheck, scoped: _ScopedLines) -> None:
    """Every label the scoped lines would send, per status/dropdown column."""
    context = scoped.context
    config = context.config
    mappings = {column.column_id: column for column in config.items.columns}
    for rule in scoped.builder.rules:
        mapping = mappings[rule.column_id]
        column = context.board.columns.get(rule.column_id)
        kind = rule.column_type
        if not kind.has_labels or column is None or column.type != kind.name:
            continue  # a missing or mistyped column is already a problem
        read_from = (
            config.source.customer_column
            if mapping.transform == "canonical_customer"
            else mapping.source
        )
        labels: dict[str, int] = {}
        for (raw,), lines in scoped.distinct([read_from]):
            try:
                value = rule.read({read_from: raw})
            except RowRejected:
                continue  # not a label at all: the run rejects it for its value (INVALID_…)
            for label in kind.labels_in(kind.to_monday(value)):
                labels[label] = labels.get(label, 0) + lines
        where_on = f"column {mapping.source!r} ({column.id})"
        created: dict[str, int] = {}
        for label, lines in sorted(labels.items()):
            if not label_usable(column, label, mapping.create_labels_if_missing):
                state = "deactivated" if label in column.deactivated_labels else "not on the board"
                if rule.reject:
                    outcome = "these lines would be rejected (UNKNOWN_LABEL)"
                else:
                    outcome = "the value would be left out (on_invalid = skip_value)"
                report.add(
                    "problem" if rule.reject else "warning",
                    "label",
                    f"{where_on}: label {label!r} is {state}; {outcome}",
                    lines,
                )
            elif label not in column.labels:
                created[label] = lines
        _note_created(report, "label", f"{where_on}: labels", created)


def _check_sizes(report: BoardCheck, scoped: _ScopedLines) -> None:
    """Every size with a quantity among the scoped lines, against the subitems' Size column."""
    context, source = scoped.context, scoped.source
    sub = context.config.subitems
    column = context.subitems_board.columns.get(sub.size_column_id)
    if column is None or column.type != SIZE_COLUMN_TYPE.name or not source.size_columns:
        return
    counts = [
        sa.func.count(sa.case((_has_quantity(source.column(size)), 1)))
        for size in source.size_columns
    ]
    used = scoped.connection.execute(sa.select(*counts).where(scoped.where)).one()
    created: dict[str, int] = {}
    for size, lines in zip(source.size_columns, used, strict=True):
        if not lines:
            continue
        problem = context.size_label_problem(size)
        if problem is not None:
            report.add("problem", "size", problem.message, lines)
        elif size not in column.labels:
            created[size] = lines
    _note_created(report, "size", "size labels", created)


def _has_quantity(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """A size cell that makes a subitem: an integer above 0 (text columns: anything but empty)."""
    if isinstance(column.type, sa.Integer | sa.Numeric):
        return column > 0
    return sa.func.coalesce(sa.func.trim(column), "").not_in(["", "0"])


def _check_groups(report: BoardCheck, scoped: _ScopedLines) -> None:
    """The groups the scoped lines go to that the board does not have yet."""
    context = scoped.context
    config = context.config
    columns = list(dict.fromkeys([config.source.customer_column, *config.items.group_columns]))
    titles: dict[str, int] = {}
    for values, lines in scoped.distinct(columns):
        row = dict(zip(columns, values, strict=True))
        customer = config.canonical_customer(str(row[config.source.customer_column] or ""))
        title = scoped.builder.group_title(row, customer)
        titles[title] = titles.get(title, 0) + lines
    created = {t: n for t, n in sorted(titles.items()) if t not in context.group_ids}
    _note_created(report, "group", "groups", created)


SHOWN = 8  # names listed in one note; the JSON report's ``created`` has them all


def _note_created(report: BoardCheck, kind: str, what: str, created: dict[str, int]) -> None:
    """One note for everything of a kind (a column's labels, sizes, groups) to be created."""
    if not created:
        return
    names = [f"{name!r} ({lines} lines)" for name, lines in created.items()]
    more = f", … {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    report.add(
        "note",
        kind,
        f"{what} that would be created ({len(names)}): {', '.join(names[:SHOWN])}{more}",
        None if kind == "size" else sum(created.values()),  # a line has several sizes
        created,
    )
