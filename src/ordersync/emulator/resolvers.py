"""Resolvers: the Query and Mutation root fields.

graphql-core's default resolver reads an attribute of the parent value and, when it is a
method, calls it with ``(info, **arguments)``; so the root value is a ``Root`` whose methods are
the root fields. They call the store and hand back views (``views``) for the selections.
Mutations are counted once their store call has succeeded. An argument a method doesn't take
is not emulated (``fields``), nor is a root field without a method here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from ordersync.emulator import paging, values, views
from ordersync.emulator.events import API_USER_ID
from ordersync.emulator.limits import Charge
from ordersync.emulator.model import ItemState, Webhook
from ordersync.emulator.views import (
    BoardView,
    ColumnView,
    GroupView,
    ItemView,
    RequestContext,
    context_of,
)

ME = {"id": str(API_USER_ID), "name": "ordersync emulator", "email": "emulator@example.com"}


F = TypeVar("F", bound=Callable[..., Any])


def mutation(method: F) -> F:
    """Count a mutation root field as applied once its store call has succeeded."""

    @wraps(method)
    def counted(self: Root, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        result = method(self, info, **kwargs)
        context_of(info).applied[info.field_name] += 1
        return result

    return counted  # type: ignore[return-value]


class Root:
    """Query and Mutation root fields."""

    def __init__(self, context: RequestContext) -> None:
        self._ctx = context
        self._store = context.store

    # -- queries -----------------------------------------------------------------------

    def boards(
        self,
        info: GraphQLResolveInfo,
        ids: list[str] | None = None,
        limit: int = 25,
        page: int = 1,
        state: str = "active",
    ) -> list[BoardView]:
        boards = list(self._store.boards.values())
        if ids is not None:
            boards = [b for b in boards if b.id in {str(i) for i in ids}]
        boards = [b for b in boards if state == "all" or b.state == state]
        return [BoardView(self._ctx, b) for b in _page(boards, limit, page)]

    def complexity(self, info: GraphQLResolveInfo) -> Charge | None:
        return self._ctx.charge

    def items(
        self,
        info: GraphQLResolveInfo,
        ids: list[str] | None = None,
        limit: int = 25,
        page: int = 1,
        newest_first: bool | None = None,
        exclude_nonactive: bool | None = None,
    ) -> list[ItemView]:
        wanted = None if ids is None else {str(i) for i in ids}
        items = [i for i in self._store.items.values() if wanted is None or i.id in wanted]
        if exclude_nonactive:
            items = [i for i in items if i.is_active]
        if newest_first:
            items.reverse()
        # As on monday, ``limit`` (25 by default) caps the answer even when ids are given.
        return [ItemView(self._ctx, i) for i in _page(items, limit, page)]

    def items_page_by_column_values(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        limit: int,
        columns: list[dict[str, Any]] | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        if cursor is not None:
            return self.next_items_page(info, cursor, limit)
        board = self._store.board(board_id)
        items = paging.items_by_column_values(self._store, board, columns)
        return views.first_page(self._ctx, items, limit, board.id)

    def fetch_job_status(self, info: GraphQLResolveInfo, job_id: str) -> dict[str, Any]:
        """A bulk import job's ``ItemsJobStatus`` (``bulk``)."""
        return self._ctx.bulk.status(job_id, self._ctx.base_url)

    def me(self, info: GraphQLResolveInfo) -> dict[str, str]:
        return ME

    def next_items_page(self, info: GraphQLResolveInfo, cursor: str, limit: int) -> dict[str, Any]:
        return views.next_page(self._ctx, cursor, limit)

    def webhooks(
        self, info: GraphQLResolveInfo, board_id: str, app_webhooks_only: bool | None = None
    ) -> list[Webhook]:
        board = self._store.board(board_id)
        return [w for w in self._store.webhooks.values() if w.board_id == board.id]

    # -- mutations -----------------------------------------------------------------------

    @mutation
    def create_group(self, info: GraphQLResolveInfo, board_id: str, group_name: str) -> GroupView:
        group = self._store.create_group(board_id, group_name)
        return GroupView(self._ctx, self._store.board(board_id), group)

    @mutation
    def create_item(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        item_name: str,
        group_id: str | None = None,
        column_values: Any = None,
        create_labels_if_missing: bool | None = None,
    ) -> ItemView:
        item = self._store.create_item(
            board_id, item_name, group_id, column_values, create_labels_if_missing
        )
        return ItemView(self._ctx, item)

    @mutation
    def create_subitem(
        self,
        info: GraphQLResolveInfo,
        parent_item_id: str,
        item_name: str,
        column_values: Any = None,
        create_labels_if_missing: bool | None = None,
    ) -> ItemView:
        item = self._store.create_subitem(
            parent_item_id, item_name, column_values, create_labels_if_missing
        )
        return ItemView(self._ctx, item)

    @mutation
    def change_multiple_column_values(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        column_values: Any,
        item_id: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> ItemView:
        item = self._store.change_values(board_id, item_id, column_values, create_labels_if_missing)
        return ItemView(self._ctx, item)

    @mutation
    def change_column_value(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        column_id: str,
        value: Any,
        item_id: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> ItemView:
        """One column, its value as JSON (a JSON string, as clients send it, or an object)."""
        raw = values.parse_json_value(value)
        item = self._store.change_values(
            board_id, item_id, {column_id: raw}, create_labels_if_missing
        )
        return ItemView(self._ctx, item)

    @mutation
    def change_simple_column_value(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        column_id: str,
        item_id: str | None = None,
        value: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> ItemView:
        """One column, its value as a plain string (``null`` empties the column)."""
        item = self._store.change_values(
            board_id, item_id, {column_id: value}, create_labels_if_missing
        )
        return ItemView(self._ctx, item)

    @mutation
    def move_item_to_group(
        self, info: GraphQLResolveInfo, group_id: str, item_id: str | None = None
    ) -> ItemView:
        return ItemView(self._ctx, self._store.move_item(item_id, group_id))

    @mutation
    def create_board(
        self,
        info: GraphQLResolveInfo,
        board_kind: str,
        board_name: str,
        description: str | None = None,
        empty: bool = False,
    ) -> BoardView:
        return BoardView(self._ctx, self._store.create_board(board_name, board_kind, description))

    @mutation
    def create_column(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        title: str,
        column_type: str,
        id: str | None = None,
        description: str | None = None,
        defaults: Any = None,
    ) -> ColumnView:
        column = self._store.create_column(
            board_id, title, column_type, column_id=id, description=description, defaults=defaults
        )
        return ColumnView(column)

    @mutation
    def update_status_column(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        id: str,
        revision: str,
        title: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> ColumnView:
        """Labels (``is_deactivated`` deactivates one), title, description."""
        labels = (settings or {}).get("labels") or []
        column = self._store.update_labels(
            board_id, id, "status", revision, labels, title, description
        )
        return ColumnView(column)

    @mutation
    def update_dropdown_column(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        id: str,
        revision: str,
        title: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> ColumnView:
        """Labels (``is_deactivated`` deactivates one), title, description."""
        labels = (settings or {}).get("labels") or []
        column = self._store.update_labels(
            board_id, id, "dropdown", revision, labels, title, description
        )
        return ColumnView(column)

    @mutation
    def duplicate_board(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        duplicate_type: str,
        board_name: str | None = None,
    ) -> dict[str, Any]:
        """Done at once (``is_async`` false); monday may run a large copy in the background."""
        board = self._store.duplicate_board(board_id, duplicate_type, board_name)
        return {"board": BoardView(self._ctx, board), "is_async": False}

    @mutation
    def archive_item(self, info: GraphQLResolveInfo, item_id: str | None = None) -> ItemView:
        return ItemView(self._ctx, self._store.set_state(item_id, ItemState.ARCHIVED))

    @mutation
    def delete_item(self, info: GraphQLResolveInfo, item_id: str | None = None) -> ItemView:
        return ItemView(self._ctx, self._store.set_state(item_id, ItemState.DELETED))

    @mutation
    def ingest_items(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        group_id: str,
        on_match: dict[str, Any] | None = None,
    ) -> dict[str, str]:
        """A bulk import job with side effects (``bulk``): ``{job_id, upload_url}``."""
        start = self._ctx.bulk.start
        return start("ingest", board_id, group_id, on_match, self._ctx.base_url)

    @mutation
    def backfill_items(
        self, info: GraphQLResolveInfo, board_id: str, group_id: str
    ) -> dict[str, str]:
        """A bulk import job for an admin's initial load (``bulk``)."""
        start = self._ctx.bulk.start
        return start("backfill", board_id, group_id, None, self._ctx.base_url)

    @mutation
    def create_webhook(
        self,
        info: GraphQLResolveInfo,
        board_id: str,
        url: str,
        event: str,
        config: Any = None,
    ) -> Webhook:
        return self._store.create_webhook(board_id, url, event, config)


def _page(values: list[Any], limit: int, page: int) -> list[Any]:
    start = max(page - 1, 0) * max(limit, 0)
    return values[start : start + max(limit, 0)]
