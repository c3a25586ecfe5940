"""Views: how boards, columns, items and column values look through GraphQL.

Each view exposes its GraphQL type's fields as attributes, properties or methods (a method is
called with ``(info, **arguments)`` by graphql-core's default resolver). Views read the store
live; the service runs each request under the store's lock. ``RequestContext`` carries what one
request shares: the store, the cursors, its complexity charge and the mutations it applied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from ordersync.emulator import column_settings, paging
from ordersync.emulator.limits import Charge
from ordersync.emulator.model import Board, Column, Group, Item, ItemState, iso_timestamp
from ordersync.emulator.paging import CursorRegistry
from ordersync.emulator.store import Store

VALUE_TYPES = {
    "text": "TextValue",
    "long_text": "LongTextValue",
    "numbers": "NumbersValue",
    "status": "StatusValue",
    "dropdown": "DropdownValue",
    "date": "DateValue",
    "subtasks": "SubtasksValue",
    "item_id": "ItemIdValue",
    "mirror": "MirrorValue",
    "board_relation": "BoardRelationValue",
    "dependency": "DependencyValue",
}


LINKED_TYPES = frozenset({"mirror", "board_relation", "dependency"})


@dataclass
class RequestContext:
    """Per-request state shared by resolvers."""

    store: Store
    cursors: CursorRegistry
    charge: Charge | None = None
    applied: Counter[str] = field(default_factory=Counter)
    bulk: Any = None
    """The account's import jobs (``bulk.BulkImports``)."""
    base_url: str = ""
    """Scheme and host the request came to (the bulk import's URLs point there)."""


def context_of(info: GraphQLResolveInfo) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


class BoardView:
    def __init__(self, context: RequestContext, board: Board) -> None:
        self._ctx = context
        self._board = board
        self.id = board.id
        self.name = board.name
        self.state = board.state
        self.board_kind = board.kind
        self.description = board.description
        self.updated_at = None if board.updated_at is None else iso_timestamp(board.updated_at)

    permissions = "everyone"

    @property
    def top_group(self) -> GroupView:
        group = next(g for g in self._board.groups.values() if not g.deleted)
        return GroupView(self._ctx, self._board, group)

    @property
    def tags(self) -> list[Any]:
        return []

    @property
    def items_count(self) -> int:
        return sum(1 for i in self._ctx.store.board_items(self._board.id) if i.is_active)

    def columns(
        self,
        info: GraphQLResolveInfo,
        ids: list[str | None] | None = None,
        types: list[str] | None = None,
    ) -> list[ColumnView]:
        columns = _filter_columns(self._board, ids, types)
        return [ColumnView(c) for c in columns]

    def groups(
        self, info: GraphQLResolveInfo, ids: list[str | None] | None = None
    ) -> list[GroupView]:
        groups = [g for g in self._board.groups.values() if not g.deleted]
        wanted = [g for g in groups if ids is None or g.id in ids]
        return [GroupView(self._ctx, self._board, g) for g in wanted]

    def items_page(
        self,
        info: GraphQLResolveInfo,
        limit: int,
        cursor: str | None = None,
        query_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return items_page(self._ctx, self._board, limit, cursor, query_params)


class GroupView:
    """A group, and the page of its items."""

    def __init__(self, context: RequestContext, board: Board, group: Group) -> None:
        self._ctx = context
        self._board = board
        self.id = group.id
        self.title = group.title
        self.color = group.color
        self.archived = group.archived
        self.deleted = group.deleted
        self.position = str(list(board.groups).index(group.id) + 1)

    def items_page(
        self,
        info: GraphQLResolveInfo,
        limit: int,
        cursor: str | None = None,
        query_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return items_page(self._ctx, self._board, limit, cursor, query_params, self.id)


class ColumnView:
    def __init__(self, column: Column) -> None:
        self.id = column.id
        self.title = column.title
        self.type = column.type
        self.description = column.description
        self.archived = False
        self.revision = str(column.revision)
        self.settings = column.settings
        self.settings_str = column_settings.legacy_settings_str(column.type, column.settings)


class ItemView:
    def __init__(self, context: RequestContext, item: Item) -> None:
        self._ctx = context
        self._item = item
        self.id = item.id
        self.name = item.name
        self.state = item.state.value
        self.created_at = iso_timestamp(item.created_at)
        self.updated_at = iso_timestamp(item.updated_at)

    @property
    def board(self) -> BoardView:
        return BoardView(self._ctx, self._ctx.store.board(self._item.board_id))

    @property
    def group(self) -> GroupView | None:
        board = self._ctx.store.board(self._item.board_id)
        group = board.groups.get(self._item.group_id)
        return None if group is None else GroupView(self._ctx, board, group)

    def updates(
        self,
        info: GraphQLResolveInfo,
        limit: int = 25,
        page: int = 1,
        ids: list[str] | None = None,
    ) -> list[Any]:
        """Always empty: the emulator keeps no updates (``create_update`` is not emulated)."""
        return []

    @property
    def parent_item(self) -> ItemView | None:
        parent_id = self._item.parent_id
        return None if parent_id is None else ItemView(self._ctx, self._ctx.store.items[parent_id])

    @property
    def subitems(self) -> list[ItemView]:
        return [ItemView(self._ctx, s) for s in self._ctx.store.listed_subitems(self._item)]

    def column_values(
        self,
        info: GraphQLResolveInfo,
        ids: list[str] | None = None,
        types: list[str] | None = None,
    ) -> list[ColumnValueView]:
        board = self._ctx.store.board(self._item.board_id)
        columns = [c for c in _filter_columns(board, ids, types) if c.type != "name"]
        return [ColumnValueView(self._ctx.store, self._item, c) for c in columns]


class ColumnValueView:
    """Any ``ColumnValue``; ``type_name`` picks the GraphQL type, extra fields per type."""

    def __init__(self, store: Store, item: Item, column: Column) -> None:
        self.id = column.id
        self.type = column.type
        self.type_name = VALUE_TYPES.get(column.type, "TextValue")
        self.column = ColumnView(column)
        self.text: str | None
        self.text, self.value = store.cell(item, column)
        if column.type in LINKED_TYPES:
            self.text = None  # monday: "mirror, connect boards, and dependency ... return null"
        self._stored = item.values.get(column.id)
        self._settings = column.settings
        self._item = item
        self._store = store

    # status
    @property
    def index(self) -> int | None:
        return self._stored["index"] if self._stored else None

    @property
    def label(self) -> str | None:
        return self.text or None

    @property
    def is_done(self) -> bool:
        return False

    # dropdown
    @property
    def values(self) -> list[dict[str, Any]]:
        if not self._stored:
            return []
        names = {o["id"]: o["label"] for o in column_settings.labels(self._settings)}
        return [{"id": str(i), "label": names[i]} for i in self._stored["ids"] if i in names]

    # numbers
    @property
    def number(self) -> float | None:
        return float(self._stored) if self._stored is not None else None

    # date
    @property
    def date(self) -> str | None:
        return self._stored["date"] if self._stored else None

    @property
    def time(self) -> str | None:
        return self._stored["time"] if self._stored else None

    # subtasks; mirror, connect boards and dependency (always empty here: never written)
    @property
    def display_value(self) -> str:
        return self.text or ""

    @property
    def linked_item_ids(self) -> list[str]:
        return []

    @property
    def subitems_ids(self) -> list[str]:
        return [s.id for s in self._store.subitems(self._item)]

    # item id
    @property
    def item_id(self) -> str:
        return self._item.id


def items_page(
    context: RequestContext,
    board: Board,
    limit: int,
    cursor: str | None,
    query_params: dict[str, Any] | None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """A board's (or one group's) ``items_page``: the first page, or the page after ``cursor``."""
    if cursor is not None:
        return next_page(context, cursor, limit)
    items = paging.select_items(context.store, board, query_params)
    if group_id is not None:
        items = [item for item in items if item.group_id == group_id]
    return first_page(context, items, limit, board.id)


def first_page(
    context: RequestContext, items: list[Item], limit: int, board_id: str | None = None
) -> dict[str, Any]:
    ids, cursor = context.cursors.first_page([i.id for i in items], limit, board_id)
    return items_response(context, ids, cursor)


def items_response(context: RequestContext, ids: list[str], cursor: str | None) -> dict[str, Any]:
    """An ``ItemsResponse``; items deleted since the cursor was made drop out."""
    items = [context.store.items[i] for i in ids if i in context.store.items]
    visible = [ItemView(context, i) for i in items if i.state is not ItemState.DELETED]
    return {"cursor": cursor, "items": visible}


def next_page(context: RequestContext, cursor: str, limit: int) -> dict[str, Any]:
    ids, next_cursor = context.cursors.next_page(cursor, limit)
    return items_response(context, ids, next_cursor)


def resolve_value_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str:
    return value.type_name


def _filter_columns(
    board: Board, ids: list[str | None] | list[str] | None, types: list[str] | None
) -> list[Column]:
    columns = list(board.columns.values())
    if ids is not None:
        columns = [c for c in columns if c.id in ids]
    if types is not None:
        columns = [c for c in columns if c.type in types]
    return columns
