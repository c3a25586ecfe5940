"""Every GraphQL document ordersync sends to monday, built in one place.

Mutations are built per alias (``create_item``, ``create_subitem``,
``change_multiple_column_values``, ``archive_item``, ``move_item_to_group``, ``create_group``)
and joined into one request by ``build_mutation_document``; each argument travels as its own
variable named ``<alias>_<argument>``, so no value is ever written into query text. Reads are named
operations with variables, shaped by ``ReadShape`` (which columns, whether subitems).
Bulk import (``bulk/``): ``start_import_document`` (``ingest_items`` / ``backfill_items``)
and ``job_status_document`` (``fetch_job_status``). Every document also selects
``complexity`` for pacing. ``all_documents()`` yields each document the client can build,
so a test can validate them all against monday's schema; ``WEBHOOK_DOCUMENTS`` are those
of ``webhooks install`` (``create_webhook``, ``webhooks``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ordersync.monday.models import Argument, Mutation

__all__ = [
    "ALL_DOCUMENTS",
    "COMPLEXITY_SELECTION",
    "WEBHOOK_DOCUMENTS",
    "ReadShape",
    "add_dropdown_labels_document",
    "all_documents",
    "archive_item",
    "board_document",
    "build_mutation_document",
    "change_multiple_column_values",
    "column_revisions_document",
    "create_group",
    "create_item",
    "create_subitem",
    "create_webhook_document",
    "items_by_column_values_document",
    "items_by_ids_document",
    "items_page_document",
    "job_status_document",
    "move_item_to_group",
    "next_items_page_document",
    "next_read_back_document",
    "read_back_document",
    "start_import_document",
    "webhooks_document",
]

COMPLEXITY_SELECTION = "complexity { before query after reset_in_x_seconds }"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"invalid GraphQL {kind}: {name!r}")


def _encode_column_values(column_values: dict[str, Any]) -> str:
    # monday's JSON scalar takes a JSON-encoded string; sorted keys keep a retried body
    # byte-identical to the first one.
    return json.dumps(column_values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _mutation(
    alias: str, field: str, arguments: Sequence[tuple[str, str, Any]], selection: str
) -> Mutation:
    _check_name("alias", alias)
    if alias == "complexity":
        raise ValueError("alias 'complexity' is reserved for the complexity report")
    return Mutation(
        alias=alias,
        field=field,
        arguments=tuple(Argument(n, t, v) for n, t, v in arguments if v is not None),
        selection=selection,
    )


def _labels_flag(create_labels_if_missing: bool) -> tuple[str, str, Any]:
    return ("create_labels_if_missing", "Boolean", True if create_labels_if_missing else None)


def create_item(
    alias: str,
    *,
    board_id: int | str,
    item_name: str,
    group_id: str | None = None,
    column_values: dict[str, Any],
    create_labels_if_missing: bool = False,
) -> Mutation:
    """A ``create_item`` mutation; its result is ``{"id": ...}``.

    Args:
        alias: the alias of this mutation in the request.
        board_id: the board to create the item on.
        item_name: the item's name (monday allows 1–255 characters).
        group_id: the group to create it in; the board's top group when ``None``.
        column_values: column id → monday JSON (see ``column_values.to_monday``).
        create_labels_if_missing: let monday add missing status/dropdown labels.
    """
    return _mutation(
        alias,
        "create_item",
        [
            ("board_id", "ID!", str(board_id)),
            ("group_id", "String", group_id),
            ("item_name", "String!", item_name),
            ("column_values", "JSON", _encode_column_values(column_values)),
            _labels_flag(create_labels_if_missing),
        ],
        "{ id }",
    )


def create_subitem(
    alias: str,
    *,
    parent_item_id: int | str,
    item_name: str,
    column_values: dict[str, Any],
    create_labels_if_missing: bool = False,
) -> Mutation:
    """A ``create_subitem`` mutation; its result is ``{"id": ..., "board": {"id": ...}}``.

    Args:
        alias: the alias of this mutation in the request.
        parent_item_id: the item the subitem goes under.
        item_name: the subitem's name.
        column_values: column id (of the subitems board) → monday JSON.
        create_labels_if_missing: let monday add missing status/dropdown labels.
    """
    return _mutation(
        alias,
        "create_subitem",
        [
            ("parent_item_id", "ID!", str(parent_item_id)),
            ("item_name", "String!", item_name),
            ("column_values", "JSON", _encode_column_values(column_values)),
            _labels_flag(create_labels_if_missing),
        ],
        "{ id board { id } }",
    )


def change_multiple_column_values(
    alias: str,
    *,
    board_id: int | str,
    item_id: int | str,
    column_values: dict[str, Any],
    create_labels_if_missing: bool = False,
) -> Mutation:
    """A ``change_multiple_column_values`` mutation; its result is ``{"id": ...}``.

    Args:
        alias: the alias of this mutation in the request.
        board_id: the board holding the item (the subitems board for a subitem).
        item_id: the item or subitem to change.
        column_values: column id → monday JSON; ``None`` clears a column.
        create_labels_if_missing: let monday add missing status/dropdown labels.
    """
    return _mutation(
        alias,
        "change_multiple_column_values",
        [
            ("board_id", "ID!", str(board_id)),
            ("item_id", "ID!", str(item_id)),
            ("column_values", "JSON!", _encode_column_values(column_values)),
            _labels_flag(create_labels_if_missing),
        ],
        "{ id }",
    )


def archive_item(alias: str, *, item_id: int | str) -> Mutation:
    """An ``archive_item`` mutation (items and subitems); its result is ``{"id": ...}``."""
    return _mutation(alias, "archive_item", [("item_id", "ID!", str(item_id))], "{ id }")


def move_item_to_group(alias: str, *, item_id: int | str, group_id: str) -> Mutation:
    """A ``move_item_to_group`` mutation (same board); its result is ``{"id": ...}``."""
    return _mutation(
        alias,
        "move_item_to_group",
        [("item_id", "ID", str(item_id)), ("group_id", "String!", group_id)],
        "{ id }",
    )


def create_group(alias: str, *, board_id: int | str, group_name: str) -> Mutation:
    """A ``create_group`` mutation; its result is ``{"id": ..., "title": ...}``."""
    return _mutation(
        alias,
        "create_group",
        [("board_id", "ID!", str(board_id)), ("group_name", "String!", group_name)],
        "{ id title }",
    )


def build_mutation_document(
    mutations: Sequence[Mutation], operation_name: str
) -> tuple[str, dict[str, Any]]:
    """Join mutations into one request: ``mutation Op($a1_board_id: ID!, ...) { ... }``.

    Args:
        mutations: the mutations, each under its own alias.
        operation_name: the GraphQL operation name (shows in logs and pacing).

    Returns:
        The document and its variables.

    Raises:
        ValueError: no mutations, a duplicate alias, or an invalid name.
    """
    _check_name("operation name", operation_name)
    if not mutations:
        raise ValueError("no mutations to send")
    aliases = [mutation.alias for mutation in mutations]
    if len(set(aliases)) != len(aliases):
        raise ValueError(f"duplicate aliases in {aliases}")
    declarations: list[str] = []
    fields: list[str] = []
    variables: dict[str, Any] = {}
    for mutation in mutations:
        arguments = []
        for argument in mutation.arguments:
            variable = f"{mutation.alias}_{argument.name}"
            declarations.append(f"${variable}: {argument.graphql_type}")
            arguments.append(f"{argument.name}: ${variable}")
            variables[variable] = argument.value
        fields.append(
            f"  {mutation.alias}: {mutation.field}({', '.join(arguments)}) {mutation.selection}"
        )
    header = f"mutation {operation_name}({', '.join(declarations)})"
    document = "\n".join([f"{header} {{", f"  {COMPLEXITY_SELECTION}", *fields, "}"])
    return document, variables


# --- reads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadShape:
    """What an item read selects.

    Attributes:
        column_ids: values of the ``$columnIds`` columns only (else every column).
        subitems: also select each item's subitems.
        subitem_column_ids: subitem values of the ``$subitemColumnIds`` columns only.
    """

    column_ids: bool = False
    subitems: bool = False
    subitem_column_ids: bool = False

    def declarations(self) -> list[str]:
        """The variable declarations this shape needs."""
        found = []
        if self.column_ids:
            found.append("$columnIds: [String!]")
        if self.subitems and self.subitem_column_ids:
            found.append("$subitemColumnIds: [String!]")
        return found

    def item_fields(self) -> str:
        """The selection of one item (and its subitems, when asked)."""
        values = _values("columnIds" if self.column_ids else None)
        fields = f"id name state group {{ id }} parent_item {{ id }} {values}"
        if self.subitems:
            # A subitem's parent and group are known from where it sits; leaving them out
            # keeps a page of items with their subitems under monday's 5M per-query cap.
            inner = _values("subitemColumnIds" if self.subitem_column_ids else None)
            fields += f" subitems {{ id name state {inner} }}"
        return fields


def _values(column_variable: str | None) -> str:
    selection = "{ id text value }"
    if column_variable:
        return f"column_values(ids: ${column_variable}) {selection}"
    return f"column_values {selection}"


def _operation(name: str, declarations: list[str], body: str, kind: str = "query") -> str:
    return f"{kind} {name}({', '.join(declarations)}) {{ {COMPLEXITY_SELECTION} {body} }}"


def board_document() -> str:
    """``GetBoard($boardId)``: the board's name, columns (with settings) and groups."""
    return _operation(
        "GetBoard",
        ["$boardId: ID!"],
        "boards(ids: [$boardId]) { id name columns { id title type settings } "
        "groups { id title } }",
    )


def items_page_document(shape: ReadShape) -> str:
    """``ItemsPage($boardId, $limit)``: the first page of a board's items."""
    return _operation(
        "ItemsPage",
        ["$boardId: ID!", "$limit: Int!", *shape.declarations()],
        "boards(ids: [$boardId]) { items_page(limit: $limit) "
        f"{{ cursor items {{ {shape.item_fields()} }} }} }}",
    )


def next_items_page_document(shape: ReadShape) -> str:
    """``NextItemsPage($cursor, $limit)``: the page after a cursor (valid 60 minutes)."""
    return _operation(
        "NextItemsPage",
        ["$cursor: String!", "$limit: Int!", *shape.declarations()],
        f"next_items_page(cursor: $cursor, limit: $limit) "
        f"{{ cursor items {{ {shape.item_fields()} }} }}",
    )


def items_by_column_values_document(shape: ReadShape) -> str:
    """``ItemsByColumnValues($boardId, $columns, $limit)``: items whose column matches."""
    return _operation(
        "ItemsByColumnValues",
        [
            "$boardId: ID!",
            "$columns: [ItemsPageByColumnValuesQuery!]",
            "$limit: Int!",
            *shape.declarations(),
        ],
        "items_page_by_column_values(board_id: $boardId, columns: $columns, limit: $limit) "
        f"{{ cursor items {{ {shape.item_fields()} }} }}",
    )


def items_by_ids_document(shape: ReadShape) -> str:
    """``ItemsByIds($ids, $limit, $excludeNonactive)``: items (or subitems) by id."""
    return _operation(
        "ItemsByIds",
        ["$ids: [ID!]", "$limit: Int", "$excludeNonactive: Boolean", *shape.declarations()],
        "items(ids: $ids, limit: $limit, exclude_nonactive: $excludeNonactive) "
        f"{{ {shape.item_fields()} }}",
    )


# --- webhooks ------------------------------------------------------------------------------


def create_webhook_document() -> str:
    """``CreateWebhook($boardId, $url, $event)``: one webhook; its result is ``{"id", ...}``."""
    return _operation(
        "CreateWebhook",
        ["$boardId: ID!", "$url: String!", "$event: WebhookEventType!"],
        "create_webhook(board_id: $boardId, url: $url, event: $event) { id board_id event }",
        kind="mutation",
    )


def webhooks_document() -> str:
    """``Webhooks($boardId)``: the board's webhooks (monday does not return their URLs)."""
    return _operation(
        "Webhooks", ["$boardId: ID!"], "webhooks(board_id: $boardId) { id board_id event config }"
    )


WEBHOOK_DOCUMENTS: tuple[tuple[str, str], ...] = (
    ("CreateWebhook", create_webhook_document()),
    ("Webhooks", webhooks_document()),
)
"""``(operation name, document)`` for ``webhooks install`` (a webhook needs a URL that answers
monday's challenge, so these are kept apart from ``ALL_DOCUMENTS``)."""


IMPORT_KINDS = ("ingest", "backfill")

JOB_STATUS_FIELDS = (
    "status counts { submitted invalid skipped created updated failed } progress_percentage "
    "failure_reason failure_message fully_imported report_created report_url"
)


def start_import_document(kind: str) -> str:
    """``StartIngest`` / ``StartBackfill($boardId, $groupId)``: a bulk import job for one group;
    its result is ``{"job_id", "upload_url"}`` (FACTS.md "Bulk import").

    Args:
        kind: ``ingest`` (``ingest_items``) or ``backfill`` (``backfill_items``).
    """
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown import kind: {kind!r}")
    return (
        f"mutation Start{kind.title()}($boardId: ID!, $groupId: ID!) {{ {COMPLEXITY_SELECTION} "
        f"{kind}_items(board_id: $boardId, group_id: $groupId) {{ job_id upload_url }} }}"
    )


def job_status_document() -> str:
    """``JobStatus($jobId)``: an import job's state, counts and report (``fetch_job_status``)."""
    return _operation(
        "JobStatus",
        ["$jobId: ID!"],
        f"fetch_job_status(job_id: $jobId) {{ ... on ItemsJobStatus {{ {JOB_STATUS_FIELDS} }} }}",
    )


READ_BACK_FIELDS = (
    "id state column_values(ids: $columnIds) { id text } "
    "subitems { id name state column_values(ids: $subitemColumnIds) { id text } }"
)
"""What reading an import job's items back needs, and no more: each item's id, state and key
columns' text; each subitem's id, name, state and size column's text (FACTS.md "Bulk import":
a job returns no ids)."""


def read_back_document() -> str:
    """``ReadBack($boardId, $columns, $limit, $columnIds, $subitemColumnIds)``: the items whose
    key column matches, with ``READ_BACK_FIELDS`` (``items_page_by_column_values``)."""
    return _operation(
        "ReadBack",
        [
            "$boardId: ID!",
            "$columns: [ItemsPageByColumnValuesQuery!]",
            "$limit: Int!",
            "$columnIds: [String!]",
            "$subitemColumnIds: [String!]",
        ],
        "items_page_by_column_values(board_id: $boardId, columns: $columns, limit: $limit) "
        f"{{ cursor items {{ {READ_BACK_FIELDS} }} }}",
    )


def next_read_back_document() -> str:
    """``NextReadBack($cursor, $limit, $columnIds, $subitemColumnIds)``: the next page."""
    return _operation(
        "NextReadBack",
        [
            "$cursor: String!",
            "$limit: Int!",
            "$columnIds: [String!]",
            "$subitemColumnIds: [String!]",
        ],
        "next_items_page(cursor: $cursor, limit: $limit) "
        f"{{ cursor items {{ {READ_BACK_FIELDS} }} }}",
    )


def column_revisions_document() -> str:
    """``ColumnRevisions($boardId, $columnIds)``: columns' settings (labels with their ids) and
    revisions, for ``add_dropdown_labels_document``."""
    return _operation(
        "ColumnRevisions",
        ["$boardId: ID!", "$columnIds: [String]"],
        "boards(ids: [$boardId]) { columns(ids: $columnIds) { id revision settings } }",
    )


def add_dropdown_labels_document() -> str:
    """``AddDropdownLabels``: ``update_dropdown_column`` with the column's labels (existing ones
    by id, new ones without) at its current revision; its result is ``{"id", "revision"}``."""
    return (
        "mutation AddDropdownLabels($boardId: ID!, $columnId: String!, $revision: String!, "
        f"$settings: UpdateDropdownColumnSettingsInput) {{ {COMPLEXITY_SELECTION} "
        "update_dropdown_column(board_id: $boardId, id: $columnId, revision: $revision, "
        "settings: $settings) { id revision } }"
    )


def read_shapes() -> Iterator[ReadShape]:
    """Every distinct ``ReadShape``."""
    for column_ids in (False, True):
        yield ReadShape(column_ids=column_ids)
        for subitem_column_ids in (False, True):
            yield ReadShape(column_ids, subitems=True, subitem_column_ids=subitem_column_ids)


def _sample_mutations() -> Iterator[tuple[str, Mutation]]:
    values = {"text_mkr5wya6": "JOO-00505", "numeric_mkr5cact": "42"}
    yield "create_item", create_item("a1", board_id=1, item_name="x", column_values=values)
    yield (
        "create_item+group+labels",
        create_item(
            "a1",
            board_id=1,
            item_name="x",
            group_id="g",
            column_values={},
            create_labels_if_missing=True,
        ),
    )
    yield (
        "create_subitem",
        create_subitem("a1", parent_item_id=2, item_name="M", column_values=values),
    )
    yield (
        "create_subitem+labels",
        create_subitem(
            "a1", parent_item_id=2, item_name="M", column_values={}, create_labels_if_missing=True
        ),
    )
    yield (
        "change_multiple_column_values",
        change_multiple_column_values("a1", board_id=1, item_id=2, column_values=values),
    )
    yield (
        "change_multiple_column_values+labels",
        change_multiple_column_values(
            "a1", board_id=1, item_id=2, column_values={}, create_labels_if_missing=True
        ),
    )
    yield "archive_item", archive_item("a1", item_id=2)
    yield "move_item_to_group", move_item_to_group("a1", item_id=2, group_id="g")
    yield "create_group", create_group("a1", board_id=1, group_name="GREYSON 2025 FALL")


def all_documents() -> Iterator[tuple[str, str]]:
    """Yield ``(name, document)`` for every document the client can build."""
    samples = list(_sample_mutations())
    for name, mutation in samples:
        yield f"mutation {name}", build_mutation_document([mutation], "Deliver")[0]
    mixed = [replace(mutation, alias=f"a{n}") for n, (_, mutation) in enumerate(samples, 1)]
    yield "mutation mixed aliases", build_mutation_document(mixed, "Deliver")[0]
    yield "GetBoard", board_document()
    for kind in IMPORT_KINDS:
        yield f"start {kind}", start_import_document(kind)
    yield "JobStatus", job_status_document()
    yield "ReadBack", read_back_document()
    yield "NextReadBack", next_read_back_document()
    yield "ColumnRevisions", column_revisions_document()
    yield "AddDropdownLabels", add_dropdown_labels_document()
    for shape in read_shapes():
        for build in (
            items_page_document,
            next_items_page_document,
            items_by_column_values_document,
            items_by_ids_document,
        ):
            yield f"{build.__name__}({shape})", build(shape)


ALL_DOCUMENTS: tuple[tuple[str, str], ...] = tuple(all_documents())
"""``(name, document)`` for every document the client can build."""
