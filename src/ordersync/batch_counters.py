"""The batch counters, declared once: every number a batch record (``MON_BatchProcessing``)
keeps, with what it counts, how ``sync`` and ``status`` print it and its key in ``--json``.

Everything else is derived from ``COUNTERS``: the table's columns (``db/tables.py``),
``BatchReport``'s counters and its ``--json`` (``batches.py``), ``PlanResult``'s tallies and
what a plan records in a new batch (``plan_counts``), the ``planned`` block of
``sync --json``, the printed reports (``cli.py``), ``report``, ``/metrics`` and the dashboard.
A new counter is one entry here (and a migration adding its column). The order is the order
of ``--json``.

Imports nothing of ordersync but ``states``, so the table description can use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ordersync.states import Action

KINDS = ("item", "subitem")  # the two kinds of staged rows, in the order reports show them


class Tally(StrEnum):
    """What a counter tallies."""

    PLANNED = "planned"  # changes the plan staged, per kind and action
    DELIVERED = "delivered"  # what delivery did with staged rows, per kind and outcome
    REJECTED = "rejected"  # source rows rejected at planning
    USAGE = "usage"  # what the batch's requests cost (the client's ``RequestStats``, same names)


@dataclass(frozen=True)
class BatchCounter:
    """One counter of a batch record.

    Attributes:
        column: its column, ``BatchReport``'s attribute and its key in a batch's ``--json``.
        tally: what it tallies.
        kind: ``item`` or ``subitem``; ``None`` for the batch as a whole.
        action: planned: the action staged; delivered: the planned action it fulfils, if any.
        outcome: delivered: the verb (``created``, ``adopted`` …): ``report``'s and
            ``/metrics``' action.
        label: how ``sync``/``status`` print it (a row of the batch table, or a format for
            the status line).
        plan: the ``PlanResult`` tallies a new batch records in it, and so the tallies a
            ``PlanResult`` has; their sum is what a dry run and ``sync --json``'s ``planned``
            show (a move is an update: delivery counts it in ``items_updated``).
        applied: delivered: the change is on the board (a failed row is not).
        chart: the dashboard chart's series it adds to (items and the batch only).
        big: a ``BIGINT`` column.
        help: what it counts (``/metrics`` help text).
    """

    column: str
    tally: Tally
    help: str
    kind: str | None = None
    action: Action | None = None
    outcome: str = ""
    label: str = ""
    plan: tuple[str, ...] = ()
    applied: bool = False
    chart: str | None = None
    big: bool = False

    def shown_in(self, plan: Any) -> int:
        """What a plan (``PlanResult``) counts under this counter: its ``plan`` tallies' sum."""
        return sum(int(getattr(plan, name)) for name in self.plan)

    @property
    def json_key(self) -> str:
        """Its key in ``sync --json``: ``planned.items_create``, else the column's name."""
        if self.tally is Tally.PLANNED and self.action is not None:
            return f"{self.kind}s_{self.action.lower()}"
        return self.column


def _planned(
    kind: str, action: Action, column: str, plan: tuple[str, ...], label: str
) -> BatchCounter:
    return BatchCounter(
        column, Tally.PLANNED, f"{kind}s to {action.lower()}", kind, action, label=label, plan=plan
    )


def _delivered(
    kind: str, outcome: str, action: Action | None, chart: str | None, *, applied: bool = True
) -> BatchCounter:
    return BatchCounter(
        f"{kind}s_{outcome}",
        Tally.DELIVERED,
        f"{kind}s {outcome}",
        kind,
        action,
        outcome=outcome,
        label=outcome,
        applied=applied,
        chart=chart if kind == "item" else None,
    )


COUNTERS: tuple[BatchCounter, ...] = (
    _planned("item", Action.CREATE, "planned_items", ("items",), "create (done/planned)"),
    _planned("subitem", Action.CREATE, "planned_subitems", ("subitems",), "create (done/planned)"),
    _planned(
        "item", Action.UPDATE, "planned_item_updates", ("item_updates", "item_moves"), "update"
    ),
    _planned("item", Action.ARCHIVE, "planned_item_archives", ("item_archives",), "archive"),
    _planned("subitem", Action.UPDATE, "planned_subitem_updates", ("subitem_updates",), "update"),
    _planned(
        "subitem", Action.ARCHIVE, "planned_subitem_archives", ("subitem_archives",), "archive"
    ),
    *(
        counter
        for kind in KINDS
        for counter in (
            _delivered(kind, "created", Action.CREATE, "created"),
            _delivered(kind, "adopted", None, "created"),  # found on the board: as created
            _delivered(kind, "updated", Action.UPDATE, "updated"),
            _delivered(kind, "archived", Action.ARCHIVE, "archived"),
            _delivered(kind, "failed", None, "rejected", applied=False),
        )
    ),
    BatchCounter(
        "rows_rejected",
        Tally.REJECTED,
        "Source rows rejected before anything was sent.",
        label="{} rows rejected at planning",
        plan=("rejected",),
        chart="rejected",
    ),
    BatchCounter(
        "requests",
        Tally.USAGE,
        "Requests sent to monday by delivery, retries included.",
        label="{} requests",
    ),
    BatchCounter(
        "retries",
        Tally.USAGE,
        "Requests that retried an earlier failed attempt.",
        label="{} retries",
    ),
    BatchCounter(  # migration 0007, as the two below
        "throttled",
        Tally.USAGE,
        "monday's answers with HTTP 429 (rate, concurrency or complexity limits).",
        label="{} answered 429",
        big=True,
    ),
    BatchCounter(
        "complexity_spent",
        Tally.USAGE,
        "Complexity points delivery's requests cost on monday.",
        label="{:,} complexity points",
        big=True,
    ),
)

COLUMNS = frozenset(c.column for c in COUNTERS)
PLAN_TALLIES = frozenset(name for c in COUNTERS for name in c.plan)  # ``PlanResult``'s tallies


def counters(
    tally: Tally | None = None, *, kind: str | None = None, action: Action | None = None
) -> Iterator[BatchCounter]:
    """The counters of a tally (and kind, and action), in declaration order."""
    for c in COUNTERS:
        wanted = (tally is None or c.tally is tally) and (kind is None or c.kind == kind)
        if wanted and (action is None or c.action == action):
            yield c


def planned_actions() -> list[Action]:
    """The actions a plan stages, in the order reports show them."""
    return list(dict.fromkeys(c.action for c in counters(Tally.PLANNED) if c.action))


def outcomes() -> list[str]:
    """What delivery does with a staged row (``created`` … ``failed``), in report order."""
    return list(dict.fromkeys(c.outcome for c in counters(Tally.DELIVERED)))


def plan_counts(plan: Any) -> dict[str, int]:
    """What a new batch records of its plan (``PlanResult``): each counter with ``plan``."""
    return {c.column: c.shown_in(plan) for c in COUNTERS if c.plan}


def planned_json(plan: Any) -> dict[str, int]:
    """A plan's changes by kind and action (``items_create`` …), as ``sync --json`` shows them."""
    return {
        c.json_key: c.shown_in(plan) for kind in KINDS for c in counters(Tally.PLANNED, kind=kind)
    }


def total(
    record: Any, tally: Tally, kind: str | None = None, *, applied: bool | None = None
) -> int:
    """The sum of a record's counters of a tally (and kind; ``applied``: only the delivered
    changes now on the board, or only the failed ones). ``record``: a ``BatchReport`` or a row
    of the batch table."""
    return sum(
        getattr(record, c.column)
        for c in counters(tally, kind=kind)
        if applied is None or c.applied == applied
    )


def rejected(record: Any, kind: str | None = None) -> int:
    """Rows rejected at planning or refused by monday (failed), of a kind or both."""
    return total(record, Tally.REJECTED) + total(record, Tally.DELIVERED, kind, applied=False)


def report_rows() -> list[tuple[str, list[tuple[BatchCounter, BatchCounter | None]]]]:
    """The rows of a batch's printed table, each a label and a cell per kind: per planned
    action, (done, planned); then each outcome no action plans (adopted, failed), (it, None)."""
    rows: list[tuple[str, list[tuple[BatchCounter, BatchCounter | None]]]] = []
    for action in planned_actions():
        planned = [p for kind in KINDS for p in counters(Tally.PLANNED, kind=kind, action=action)]
        cells: list[tuple[BatchCounter, BatchCounter | None]] = [
            (done, p)
            for p in planned
            for done in counters(Tally.DELIVERED, kind=p.kind, action=action)
        ]
        rows.append((planned[0].label, cells))
    for outcome in outcomes():
        unplanned = [c for c in counters(Tally.DELIVERED) if c.outcome == outcome and not c.action]
        if unplanned:
            rows.append((unplanned[0].label, [(c, None) for c in unplanned]))
    return rows
