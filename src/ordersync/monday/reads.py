"""Reads: boards and items from monday, paged and chunked, parsed into ``models``.

Each function takes an ``Execute`` callable (``MondayClient.execute``) so it holds no
transport of its own: the client's retry, pacing and error rules apply to every page.
Pages follow monday's cursor protocol (``items_page`` or ``items_page_by_column_values``
first, then root ``next_items_page(cursor)``; at most 500 items a page), and a page monday
refuses as too complex (over 5M points, e.g. 500 items with their subitems) is halved until
it fits (unless the caller has a better answer: ``iter_pages(..., halve=False)``). Lookups by
id go 100 ids a request, monday's limit for ``items(ids:)``; lookups by column value go 100
values a request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from ordersync.chunking import chunked
from ordersync.column_types import LABEL_TYPES, decode_value
from ordersync.errors import PermanentMondayError
from ordersync.monday import documents
from ordersync.monday.classify import QUERY_TOO_COMPLEX
from ordersync.monday.documents import ReadShape
from ordersync.monday.models import Board, Column, ColumnValue, Group, Item

__all__ = [
    "MAX_IDS_PER_REQUEST",
    "MAX_PAGE_SIZE",
    "Execute",
    "get_board",
    "get_items",
    "items_by_column_values",
    "iter_items",
    "iter_pages",
    "parse_board",
    "parse_item",
]

MAX_PAGE_SIZE = 500
MAX_IDS_PER_REQUEST = 100
MAX_VALUES_PER_REQUEST = 100

logger = logging.getLogger("ordersync.monday")


class Execute(Protocol):
    """What reads need of the client: run one named query, return its ``data``."""

    def __call__(
        self, document: str, variables: dict[str, Any] | None = None, *, operation_name: str
    ) -> dict[str, Any]: ...


# --- parsing -----------------------------------------------------------------------------


def _settings(raw: Any) -> dict[str, Any]:
    decoded = decode_value(raw)
    return decoded if isinstance(decoded, dict) else {}


def _label_entries(settings: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``(label, deactivated)`` of a status or dropdown column, in monday's order.

    Settings come in monday's 2025-10 shape, a list ``[{"id", "label", "index",
    "is_deactivated", ...}]`` (status ordered by ``index``), or the shape before it (status
    ``{"labels": {"1": "Done"}}``, dropdown ``{"labels": [{"id": 1, "name": "A"}]}``).
    """
    raw = settings.get("labels")
    if isinstance(raw, Mapping):
        ordered = sorted(raw.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0)
        candidates: Iterable[Any] = [value for _, value in ordered]
    elif isinstance(raw, list):
        candidates = raw
        if all(isinstance(entry, Mapping) and isinstance(entry.get("index"), int) for entry in raw):
            candidates = sorted(raw, key=lambda entry: entry["index"])
    else:
        return []
    entries = []
    for entry in candidates:
        label = (entry.get("label") or entry.get("name")) if isinstance(entry, Mapping) else entry
        deactivated = isinstance(entry, Mapping) and bool(entry.get("is_deactivated"))
        if isinstance(label, str) and label:
            entries.append((label, deactivated))
    return entries


def _column(raw: Mapping[str, Any]) -> Column:
    settings = _settings(raw.get("settings"))
    column_type = str(raw.get("type") or "")
    entries = _label_entries(settings) if column_type in LABEL_TYPES else []
    return Column(
        id=str(raw["id"]),
        title=str(raw.get("title") or ""),
        type=column_type,
        settings=settings,
        labels=tuple(label for label, deactivated in entries if not deactivated),
        deactivated_labels=tuple(label for label, deactivated in entries if deactivated),
    )


def _subitems_board_id(columns: Iterable[Column]) -> int | None:
    for column in columns:
        if column.type == "subtasks":
            board_ids = column.settings.get("boardIds") or []
            if board_ids:
                return int(board_ids[0])
    return None


def parse_board(raw: Mapping[str, Any]) -> Board:
    """A ``Board`` from one entry of ``boards { id name columns {...} groups {...} }``."""
    columns = [_column(column) for column in raw.get("columns") or [] if column]
    return Board(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        columns={column.id: column for column in columns},
        groups=[Group(str(g["id"]), str(g.get("title") or "")) for g in raw.get("groups") or []],
        subitems_board_id=_subitems_board_id(columns),
    )


def parse_item(raw: Mapping[str, Any], parent_id: int | None = None) -> Item:
    """An ``Item`` (with its subitems, when selected) from monday's item selection."""
    item_id = int(raw["id"])
    parent = raw.get("parent_item")
    group = raw.get("group")
    return Item(
        id=item_id,
        name=str(raw.get("name") or ""),
        group_id=str(group["id"]) if group else None,
        state=str(raw.get("state") or "active"),
        parent_id=int(parent["id"]) if parent else parent_id,
        values={
            str(value["id"]): ColumnValue(
                text=value.get("text"), value=decode_value(value.get("value"))
            )
            for value in raw.get("column_values") or []
        },
        subitems=[parse_item(sub, parent_id=item_id) for sub in raw.get("subitems") or [] if sub],
    )


# --- operations --------------------------------------------------------------------------


def _shape(
    column_ids: Sequence[str] | None, with_subitems: bool, subitem_column_ids: Sequence[str] | None
) -> tuple[ReadShape, dict[str, Any]]:
    shape = ReadShape(
        column_ids=column_ids is not None,
        subitems=with_subitems,
        subitem_column_ids=with_subitems and subitem_column_ids is not None,
    )
    variables: dict[str, Any] = {}
    if shape.column_ids:
        variables["columnIds"] = list(column_ids or [])
    if shape.subitem_column_ids:
        variables["subitemColumnIds"] = list(subitem_column_ids or [])
    return shape, variables


def _visible(items: Iterable[Item], include_archived: bool) -> Iterator[Item]:
    for item in items:
        if include_archived:
            yield item
        elif item.state == "active":
            subitems = [sub for sub in item.subitems if sub.state == "active"]
            yield item if subitems == item.subitems else replace(item, subitems=subitems)


def _page(
    execute: Execute,
    document: str,
    variables: dict[str, Any],
    *,
    operation_name: str,
    page_size: int,
    halve: bool = True,
) -> tuple[dict[str, Any], int]:
    """Run a paged query, halving the page while monday finds it too complex.

    monday prices a page by its ``limit`` (times the subitems it may hold) and refuses a
    query over 5M points outright, so ``page_size`` is a ceiling, not a promise. With
    ``halve=False`` the refusal is raised instead.

    Returns:
        The answer's data and the page size that worked (use it for the next pages).
    """
    while True:
        try:
            data = execute(
                document, {**variables, "limit": page_size}, operation_name=operation_name
            )
        except PermanentMondayError as error:
            if not halve or error.code not in QUERY_TOO_COMPLEX or page_size <= 1:
                raise
            page_size = max(1, page_size // 2)
            logger.debug("monday %s: too complex, trying %d a page", operation_name, page_size)
            continue
        return data, page_size


def _pages(
    execute: Execute,
    first: tuple[Mapping[str, Any] | None, int],
    shape: ReadShape,
    variables: dict[str, Any],
    halve: bool = True,
) -> Iterator[list[Item]]:
    """The items of a first page and of every ``next_items_page`` after it, a list a page
    (``first``: the first page and the page size to ask for the pages after it)."""
    page, page_size = first
    next_document = documents.next_items_page_document(shape)
    while page:
        yield [parse_item(raw) for raw in page.get("items") or [] if raw]
        cursor = page.get("cursor")
        if not cursor:
            return
        data, page_size = _page(
            execute,
            next_document,
            {"cursor": cursor, **variables},
            operation_name="NextItemsPage",
            page_size=page_size,
            halve=halve,
        )
        page = data.get("next_items_page")


def _items(pages: Iterable[list[Item]]) -> Iterator[Item]:
    for page in pages:
        yield from page


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, not {page_size}")


def _single_board(data: Mapping[str, Any], board_id: int | str) -> Mapping[str, Any]:
    boards = [board for board in data.get("boards") or [] if board]
    if not boards:
        raise PermanentMondayError(f"board {board_id} not found", code="BOARD_NOT_FOUND")
    return boards[0]


def get_board(execute: Execute, board_id: int | str) -> Board:
    """The board with its columns, groups and subitems board id.

    Raises:
        PermanentMondayError: the board does not exist or is not visible to the token.
    """
    data = execute(
        documents.board_document(), {"boardId": str(board_id)}, operation_name="GetBoard"
    )
    return parse_board(_single_board(data, board_id))


def iter_items(
    execute: Execute, board_id: int | str, *, include_archived: bool = False, **read: Any
) -> Iterator[Item]:
    """Every item of a board, page by page (see ``MondayClient.iter_items``); ``read`` takes
    the arguments of ``iter_pages`` (columns, page size, subitems)."""
    yield from _visible(_items(iter_pages(execute, board_id, **read)), include_archived)


def iter_pages(
    execute: Execute,
    board_id: int | str,
    *,
    column_ids: Sequence[str] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    with_subitems: bool = False,
    subitem_column_ids: Sequence[str] | None = None,
    halve: bool = True,
) -> Iterator[list[Item]]:
    """Every page of a board's items as monday answers it (archived subitems included), one
    list a page, for a caller that works a page at a time (``pull`` records each in its own
    transaction).

    Args:
        execute: runs one query (``MondayClient.execute``).
        board_id: the board.
        column_ids: only these columns' values (all columns when ``None``).
        page_size: items a page, 1–500.
        with_subitems: also fetch each item's subitems.
        subitem_column_ids: only these subitem columns' values.
        halve: halve a page monday finds too complex (else raise its error).

    Raises:
        PermanentMondayError: the board does not exist (``BOARD_NOT_FOUND``), a cursor expired
            (``CursorExpiredError``: start again), or a refusal not retried.
    """
    _check_page_size(page_size)
    shape, variables = _shape(column_ids, with_subitems, subitem_column_ids)
    data, page_size = _page(
        execute,
        documents.items_page_document(shape),
        {"boardId": str(board_id), **variables},
        operation_name="ItemsPage",
        page_size=page_size,
        halve=halve,
    )
    first = _single_board(data, board_id).get("items_page")
    yield from _pages(execute, (first, page_size), shape, variables, halve)


def items_by_column_values(
    execute: Execute,
    board_id: int | str,
    column_id: str,
    values: Sequence[str],
    *,
    column_ids: Sequence[str] | None = None,
    with_subitems: bool = False,
    subitem_column_ids: Sequence[str] | None = None,
    include_archived: bool = False,
) -> list[Item]:
    """Items whose ``column_id`` holds one of ``values`` (see the client method).

    monday prices a page by its ``limit``, and a lookup by key finds about one item a value: so
    the first page of a chunk holds as many items as the chunk has values, and only a chunk
    with more matches (a key part many lines share) pages on, by cursor, 500 a page.
    """
    shape, variables = _shape(column_ids, with_subitems, subitem_column_ids)
    document = documents.items_by_column_values_document(shape)
    ceiling = MAX_PAGE_SIZE  # lowered for good when monday finds a page too complex
    found: dict[int, Item] = {}
    for chunk in chunked(list(dict.fromkeys(values)), MAX_VALUES_PER_REQUEST):
        asked = min(ceiling, len(chunk))
        data, page_size = _page(
            execute,
            document,
            {
                "boardId": str(board_id),
                "columns": [{"column_id": column_id, "column_values": list(chunk)}],
                **variables,
            },
            operation_name="ItemsByColumnValues",
            page_size=asked,
        )
        if page_size < asked:  # halved: no page of this read is asked larger
            ceiling = page_size
        first = data.get("items_page_by_column_values")
        items = _items(_pages(execute, (first, ceiling), shape, variables))
        for item in _visible(items, include_archived):
            found.setdefault(item.id, item)
    return list(found.values())


def get_items(
    execute: Execute,
    ids: Sequence[int | str],
    *,
    column_ids: Sequence[str] | None = None,
    with_subitems: bool = False,
    subitem_column_ids: Sequence[str] | None = None,
    include_archived: bool = True,
) -> list[Item]:
    """Items or subitems by id, 100 ids a request (see the client method)."""
    shape, variables = _shape(column_ids, with_subitems, subitem_column_ids)
    document = documents.items_by_ids_document(shape)
    found: list[Item] = []
    for chunk in chunked([str(i) for i in dict.fromkeys(ids)], MAX_IDS_PER_REQUEST):
        data = execute(
            document,
            {
                "ids": list(chunk),
                "limit": len(chunk),
                "excludeNonactive": not include_archived,
                **variables,
            },
            operation_name="ItemsByIds",
        )
        items = (parse_item(raw) for raw in data.get("items") or [] if raw)
        found.extend(_visible(items, include_archived))
    return found
