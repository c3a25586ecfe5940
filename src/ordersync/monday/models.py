"""Plain data the monday client hands back and takes in: boards, items, mutations, results.

Everything here is a frozen dataclass with no behaviour beyond small conveniences, so the
delivery code can store, compare and log these objects freely. None of them ever holds the
API token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ordersync.errors import MondayError

Outcome = Literal["ok", "failed", "unknown"]


@dataclass(frozen=True)
class Argument:
    """One argument of a mutation field, sent as its own GraphQL variable.

    Attributes:
        name: the argument's name in monday's schema, e.g. ``board_id``.
        graphql_type: the variable's declared type, e.g. ``ID!``.
        value: the JSON value sent in ``variables``.
    """

    name: str
    graphql_type: str
    value: Any


@dataclass(frozen=True)
class Mutation:
    """One aliased mutation field of a multi-mutation request.

    Built by the functions in ``ordersync.monday.documents``; values only ever travel as
    variables named ``<alias>_<argument>``, never inside the query text.

    Attributes:
        alias: the GraphQL alias the result comes back under, e.g. ``a1``.
        field: the mutation field, e.g. ``create_item``; also the pacing cost kind.
        arguments: the field's arguments, in the order they are written.
        selection: the selection set requested for the result, e.g. ``{ id }``.
    """

    alias: str
    field: str
    arguments: tuple[Argument, ...]
    selection: str


@dataclass(frozen=True)
class AliasResult:
    """What became of one alias of a ``MondayClient.mutate`` call.

    Attributes:
        alias: the alias the mutation was sent under.
        outcome: ``ok`` (monday returned data for it), ``failed`` (an error names it) or
            ``unknown`` (the answer does not say; resolve by looking the row up on monday).
        data: the alias's data when ``ok``, e.g. ``{"id": "123"}``.
        error: the classified error when ``failed`` (usually a ``PermanentMondayError``).
    """

    alias: str
    outcome: Outcome
    data: dict[str, Any] | None = None
    error: MondayError | None = None


@dataclass(frozen=True)
class Complexity:
    """monday's complexity report for one request (``complexity { ... }``).

    Attributes:
        before: budget left before the request.
        query: what the request cost.
        after: budget left after the request.
        reset_in_seconds: seconds until the per-minute budget resets.
    """

    before: int
    query: int
    after: int
    reset_in_seconds: float


@dataclass
class RequestStats:
    """Counters of one client's traffic, for batch records and benchmarks.

    Attributes:
        requests: HTTP requests sent, retries included.
        retries: requests that were retries of an earlier failed attempt.
        throttled: answers with HTTP 429.
        replayed: answers monday served from its idempotency cache.
        mutations_sent: aliases sent in mutation requests (retries included).
        paced_seconds: time spent waiting for the complexity budget to reset.
        uploads: import files ``PUT`` to an upload URL (retries included).
        last_complexity: the last complexity report seen.
        complexity_spent: complexity points the answered requests cost (their ``query``).
    """

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    replayed: int = 0
    mutations_sent: int = 0
    paced_seconds: float = 0.0
    uploads: int = 0
    last_complexity: Complexity | None = None
    complexity_spent: int = 0


@dataclass(frozen=True)
class Column:
    """A column of a board.

    Attributes:
        id: monday's column id, e.g. ``numeric_mkr5cact``.
        title: the column's title as people see it.
        type: monday's column type, e.g. ``numbers``, ``status``, ``dropdown``.
        settings: the column's settings (decoded JSON).
        labels: the active labels of a status or dropdown column, from its settings.
        deactivated_labels: its deactivated labels: not a valid target on monday.
    """

    id: str
    title: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    deactivated_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A group of a board."""

    id: str
    title: str


@dataclass(frozen=True)
class Board:
    """A board with its columns and groups.

    Attributes:
        id: the board id.
        name: the board's name.
        columns: columns by id.
        groups: groups in board order.
        subitems_board_id: the board holding this board's subitems, from the settings of
            its ``subtasks`` column; ``None`` when the board has no subitems column.
    """

    id: int
    name: str
    columns: dict[str, Column]
    groups: list[Group]
    subitems_board_id: int | None = None

    def group_by_title(self, title: str) -> Group | None:
        """The first group with this exact title, or ``None``."""
        return next((group for group in self.groups if group.title == title), None)


@dataclass(frozen=True)
class ColumnValue:
    """One column value of an item as monday returns it.

    Attributes:
        text: monday's text rendering (``None`` when empty).
        value: the raw value, JSON-decoded (``None`` when empty).
    """

    text: str | None
    value: Any


@dataclass(frozen=True)
class Item:
    """An item or subitem.

    Attributes:
        id: the item id.
        name: the item name.
        group_id: the group it sits in, when asked for.
        state: ``active``, ``archived`` or ``deleted``.
        parent_id: the parent item's id for a subitem, else ``None``.
        values: column values by column id (only the columns asked for).
        subitems: the subitems, when asked for.
    """

    id: int
    name: str
    group_id: str | None = None
    state: str = "active"
    parent_id: int | None = None
    values: dict[str, ColumnValue] = field(default_factory=dict)
    subitems: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class ImportJob:
    """A started bulk import job (``ingest_items`` / ``backfill_items``).

    Attributes:
        job_id: monday's id of the job.
        upload_url: where its file is ``PUT`` (``Content-Type: text/csv``, without the token);
            monday documents that it expires after 10 minutes (a ``PUT`` then gets 403). Its
            query is a credential: kept out of ``repr``.
    """

    job_id: str
    upload_url: str = field(repr=False)


TERMINAL_JOB_STATUSES = frozenset({"COMPLETED", "FAILED", "REJECTED"})


@dataclass(frozen=True)
class JobStatus:
    """What ``fetch_job_status`` says of an import job.

    Attributes:
        status: ``UPLOAD_PENDING``, ``PROCESSING``, or terminal ``COMPLETED`` (which may hold
            row failures), ``FAILED``, ``REJECTED``.
        counts: ``submitted``, ``invalid``, ``skipped``, ``created``, ``updated``, ``failed``.
        progress: 0–100.
        failure_reason: a ``BulkImportFailureReason`` when FAILED or REJECTED.
        failure_message: monday's words for it.
        report_url: the per-row report (valid 10 minutes), when one was made.
    """

    status: str
    counts: dict[str, int] = field(default_factory=dict)
    progress: int = 0
    failure_reason: str | None = None
    failure_message: str | None = None
    report_url: str | None = field(default=None, repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES
