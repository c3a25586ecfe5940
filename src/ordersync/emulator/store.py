"""The emulator's state: boards, groups, items and webhooks, and every change made to them.

One ``Store`` per emulator, guarded by a re-entrant lock (the HTTP server is threaded). Every
mutation validates everything first and changes state last, so a failing alias leaves no trace.
Each change is reported to ``on_event`` as a ``BoardEvent`` (``events``: monday's webhook
payloads), made by ``actor`` (the API user unless ``acting_as`` says otherwise); a write that
leaves a column as it was reports nothing. ``create_webhook`` checks the URL through
``verify_url`` (the challenge handshake, ``webhooks``) before storing it. ``to_dict``/
``load_dict`` make the state file.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from ordersync.emulator import api_errors, column_settings, events, values
from ordersync.emulator.events import BoardEvent
from ordersync.emulator.fields import not_emulated
from ordersync.emulator.model import Board, Column, Group, Item, ItemState, Webhook, iso_timestamp
from ordersync.emulator.seed import DEFAULT_GROUP_ID, BoardSpec, ColumnSpec

FIRST_ITEM_ID = 9_100_000_001
FIRST_WEBHOOK_ID = 510_000_001
FIRST_BOARD_ID = 5_100_000_001
STATE_VERSION = 1
CREATABLE_COLUMN_TYPES = frozenset(
    {"text", "long_text", "numbers", "status", "dropdown", "date", "subtasks", "item_id"}
    | {"mirror", "board_relation", "dependency"}  # read as empty: the SDK reads their fragments
)


class Store:
    """Boards and items, changed only through the methods below."""

    def __init__(
        self,
        now: Callable[[], float],
        on_event: Callable[[BoardEvent], None] | None = None,
        verify_url: Callable[[str], None] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.boards: dict[str, Board] = {}
        self.items: dict[str, Item] = {}
        self._held: Counter[str] = Counter()
        """Items per board that are not deleted (the items limit counts them)."""
        self.webhooks: dict[str, Webhook] = {}
        self._now = now
        self._on_event = on_event or (lambda event: None)
        self._verify_url = verify_url or (lambda url: None)
        self.actor = events.API_USER_ID
        self._next_item_id = FIRST_ITEM_ID
        self._next_webhook_id = FIRST_WEBHOOK_ID
        self._next_group_number = 1
        self._next_board_id = FIRST_BOARD_ID
        self._next_column_number = 1
        self.items_per_board: int | None = None
        self.silent = False
        """While set, changes report no events (a backfill import runs no automations)."""
        """Items one board may hold (``Limits.items_per_board``, monday's 10,000); ``None``:
        no limit."""
        self.archived_in_lookups = False
        """Archived items are listed by lookups too (``Undocumented.archived_in_lookups``)."""

    @contextmanager
    def acting_as(self, user_id: int) -> Iterator[None]:
        """Hold the lock and attribute the changes made meanwhile to ``user_id``."""
        with self.lock:
            previous, self.actor = self.actor, user_id
            try:
                yield
            finally:
                self.actor = previous

    # -- lookups -------------------------------------------------------------------------

    def board(self, board_id: Any) -> Board:
        board = self.boards.get(str(board_id))
        if board is None:
            raise api_errors.invalid_board(str(board_id))
        return board

    def item(self, item_id: Any) -> Item:
        """An item that has not been deleted, else ``ResourceNotFoundException``."""
        item = self.items.get(str(item_id)) if item_id is not None else None
        if item is None or item.state is ItemState.DELETED:
            raise api_errors.item_not_found(None if item_id is None else str(item_id))
        return item

    def board_items(self, board_id: str) -> list[Item]:
        return [item for item in self.items.values() if item.board_id == board_id]

    def cell(self, item: Item, column: Column) -> tuple[str, str | None]:
        """``(text, value)`` of one column of one item, as monday renders them."""
        if column.type == "name":
            return item.name, None
        if column.type == "item_id":
            return item.id, None
        if column.type == "subtasks":
            subitems = self.subitems(item)
            linked = [{"linkedPulseId": int(sub.id)} for sub in subitems]
            text = ", ".join(sub.name for sub in subitems)
            return text, values.stored_json({"linkedPulseIds": linked}) if linked else None
        stored = item.values.get(column.id)
        return values.stored_text(column, stored), values.stored_json(stored)

    def subitems(self, item: Item) -> list[Item]:
        return [self.items[i] for i in item.subitem_ids if self.items[i].is_active]

    def in_lookups(self, item: Item) -> bool:
        """Whether a lookup (by column values, an item's ``subitems``) lists ``item``."""
        return item.is_active or (self.archived_in_lookups and item.state is ItemState.ARCHIVED)

    def listed_subitems(self, item: Item) -> list[Item]:
        """An item's ``subitems`` as a query reads them (``in_lookups``)."""
        return [self.items[i] for i in item.subitem_ids if self.in_lookups(self.items[i])]

    # -- boards and groups -----------------------------------------------------------------

    def add_board(self, spec: BoardSpec) -> Board:
        board = Board(
            id=str(spec.id),
            name=spec.name,
            columns={c.id: _column_from_spec(c, spec) for c in spec.columns},
            groups={gid: Group(gid, title) for gid, title in spec.groups},
            subitems_board_id=_optional_id(spec.subitems_board_id),
            parent_board_id=_optional_id(spec.parent_board_id),
        )
        with self.lock:
            self.boards[board.id] = board
        return board

    def create_group(self, board_id: Any, group_name: str) -> Group:
        with self.lock:
            board = self.board(board_id)
            if not group_name.strip():
                raise api_errors.invalid_argument("group_name can't be empty")
            group = Group(self._new_group_id(board), group_name)
            board.groups[group.id] = group
            return group

    def _new_group_id(self, board: Board) -> str:
        while True:
            group_id = f"group_mk{self._next_group_number:06x}"
            self._next_group_number += 1
            if group_id not in board.groups:
                return group_id

    # -- items ---------------------------------------------------------------------------

    def create_item(
        self,
        board_id: Any,
        item_name: str,
        group_id: str | None,
        column_values: Any,
        create_labels: bool | None,
    ) -> Item:
        with self.lock:
            board = self.board(board_id)
            if board.is_subitems_board:
                raise api_errors.MondayAPIError(
                    api_errors.INVALID_BOARD,
                    "Can't create an item on subitems board. Please use create_subitem mutation.",
                    error_data={"board_id": board.id},
                )
            group = self._group(board, group_id)
            item = self._new_item(board, group, item_name, column_values, create_labels)
            self._emit(events.item_created(self._context(), board, item, group, None))
            return item

    def create_subitem(
        self, parent_item_id: Any, item_name: str, column_values: Any, create_labels: bool | None
    ) -> Item:
        with self.lock:
            parent = self.item(parent_item_id)
            parent_board = self.board(parent.board_id)
            if parent_board.subitems_board_id is None:
                raise api_errors.invalid_argument(
                    "The parent item's board has no subitems column", item_id=parent.id
                )
            board = self.board(parent_board.subitems_board_id)
            group = self._group(board, None)
            item = self._new_item(board, group, item_name, column_values, create_labels, parent)
            before = self.subitems(parent)
            parent.subitem_ids.append(item.id)
            context = self._context()
            self._emit(events.item_created(context, board, item, group, parent))
            self._emit_subtasks_change(context, parent_board, parent, before)
            return item

    def _emit_subtasks_change(
        self, context: events.Context, board: Board, parent: Item, before: list[Item]
    ) -> None:
        """monday also reports the parent's subitems column as changed (``columnType``
        ``subtasks``) when a subitem is created."""
        column = next((c for c in board.columns.values() if c.type == "subtasks"), None)
        if column is None:
            return
        changed_at = iso_timestamp(context.now)
        value = events.subtasks_value(self.subitems(parent), changed_at)
        previous = events.subtasks_value(before, changed_at)
        self._emit(events.column_changed(context, board, parent, column, value, previous, None))

    def _new_item(
        self,
        board: Board,
        group: Group,
        item_name: str,
        column_values: Any,
        create_labels: bool | None,
        parent: Item | None = None,
    ) -> Item:
        name = values.validate_item_name(item_name)
        self._check_items_limit(board)
        now = self._now()
        stored, new_name = self._convert(board, column_values, create_labels, now)
        item = Item(
            id=str(self._next_item_id),
            board_id=board.id,
            group_id=group.id,
            name=new_name or name,
            created_at=now,
            updated_at=now,
            values={k: v for k, v in stored.items() if v is not None},
            parent_id=parent.id if parent else None,
        )
        self._next_item_id += 1
        self.items[item.id] = item
        self._held[board.id] += 1
        board.updated_at = now
        return item

    def _check_items_limit(self, board: Board) -> None:
        """``ItemsLimitationException`` once a board holds ``items_per_board`` items.

        Archived items count (they stay on the board); deleted ones don't. monday's message
        text is not documented; the code and its HTTP 200 are (FACTS.md "Errors").
        """
        limit = self.items_per_board
        if limit is None:
            return
        held = self._held[board.id]
        if held >= limit:
            raise api_errors.MondayAPIError(
                api_errors.ITEMS_LIMIT,
                f"The board has reached its limit of {limit} items",
                error_data={"board_id": board.id, "limit": limit},
            )

    def change_values(
        self, board_id: Any, item_id: Any, column_values: Any, create_labels: bool | None
    ) -> Item:
        with self.lock:
            board = self.board(board_id)
            item = self.item(item_id)
            if item.board_id != board.id:
                raise api_errors.MondayAPIError(
                    api_errors.RESOURCE_NOT_FOUND,
                    f"Item {item.id} was not found on board {board.id}",
                    status_code=404,
                    error_data={"item_id": item.id, "board_id": board.id},
                )
            now = self._now()
            stored, new_name = self._convert(board, column_values, create_labels, now)
            previous = dict(item.values)
            for column_id, value in stored.items():
                if value is None:
                    item.values.pop(column_id, None)
                else:
                    item.values[column_id] = value
            previous_name, item.name = item.name, new_name or item.name
            item.updated_at = board.updated_at = now
            context, parent = self._context(), self._parent(item)
            for column_id in stored:
                value, before = item.values.get(column_id), previous.get(column_id)
                if not events.same_value(value, before):
                    column = board.columns[column_id]
                    self._emit(
                        events.column_changed(context, board, item, column, value, before, parent)
                    )
            if item.name != previous_name:
                self._emit(events.name_changed(context, board, item, previous_name, parent))
            return item

    def _convert(
        self, board: Board, column_values: Any, create_labels: bool | None, now: float
    ) -> tuple[dict[str, Any], str | None]:
        """Validate all raw values; returns stored values and a new name when ``name`` is set."""
        raw_values = values.parse_column_values(column_values)
        writer = values.ValueWriter(
            board, create_labels=bool(create_labels), changed_at=iso_timestamp(now)
        )
        stored: dict[str, Any] = {}
        for column_id, raw in raw_values.items():
            column = board.columns.get(column_id)
            if column is None:
                raise api_errors.invalid_column(column_id, board.id)
            stored[column_id] = writer.convert(column, raw)
        writer.commit()
        new_name = stored.pop("name", None)
        return stored, new_name

    def set_state(self, item_id: Any, state: ItemState) -> Item:
        """Archive or delete an item and its subitems (as monday's board does)."""
        with self.lock:
            item = self.item(item_id)
            changed = item.state is not state
            now = self._now()
            for target in (item, *(self.items[i] for i in item.subitem_ids)):
                if target.state is not ItemState.DELETED and target.state is not state:
                    if state is ItemState.DELETED:
                        self._held[target.board_id] -= 1
                    target.state = state
                    target.updated_at = now
                    self.boards[target.board_id].updated_at = now
            if changed:
                deleted = state is ItemState.DELETED
                board, parent = self.board(item.board_id), self._parent(item)
                self._emit(
                    events.item_removed(self._context(), board, item, parent, deleted=deleted)
                )
            return item

    def _group(self, board: Board, group_id: str | None) -> Group:
        if group_id is None:
            return board.groups.get(DEFAULT_GROUP_ID) or next(iter(board.groups.values()))
        group = board.groups.get(group_id)
        if group is None or group.deleted:
            raise api_errors.MondayAPIError(
                api_errors.RESOURCE_NOT_FOUND,
                f"Group {group_id} was not found on board {board.id}",
                status_code=404,
                error_data={"group_id": group_id, "board_id": board.id},
            )
        return group

    def move_item(self, item_id: Any, group_id: str) -> Item:
        """``move_item_to_group``: the item goes to another group of its board."""
        with self.lock:
            item = self.item(item_id)
            board = self.board(item.board_id)
            group = self._group(board, group_id)
            now = self._now()
            item.group_id, item.updated_at, board.updated_at = group.id, now, now
            return item

    # -- board structure -------------------------------------------------------------------

    def create_board(self, name: str, kind: str, description: str | None = None) -> Board:
        """A new board: the ``name`` column and one group, as an empty board on monday."""
        with self.lock:
            if not name.strip():
                raise api_errors.invalid_argument("board_name can't be empty")
            board = Board(
                id=str(self._next_board_id),
                name=name,
                columns={"name": Column("name", "Name", "name")},
                groups={DEFAULT_GROUP_ID: Group(DEFAULT_GROUP_ID, "Group Title")},
                kind=kind,
                updated_at=self._now(),
                description=description,
            )
            self._next_board_id += 1
            self.boards[board.id] = board
            return board

    def create_column(
        self,
        board_id: Any,
        title: str,
        column_type: str,
        *,
        column_id: str | None = None,
        description: str | None = None,
        defaults: Any = None,
    ) -> Column:
        """A new column; a ``subtasks`` column also makes the board's subitems board."""
        with self.lock:
            board = self.board(board_id)
            if column_type not in CREATABLE_COLUMN_TYPES:
                raise not_emulated(f"Mutation.create_column(column_type: {column_type})")
            if column_id is None:
                column_id = f"{column_type}_mk{self._next_column_number:05x}"
                self._next_column_number += 1
            if column_id in board.columns:
                raise api_errors.invalid_argument("a column with this id exists", id=column_id)
            settings = column_settings.upgrade(column_type, _json_object(defaults))
            if column_type == "subtasks":
                if board.subitems_board_id is not None or board.is_subitems_board:
                    raise api_errors.invalid_argument("the board already has subitems")
                subitems = self.create_board(f"Subitems of {board.name}", board.kind)
                subitems.groups = {DEFAULT_GROUP_ID: Group(DEFAULT_GROUP_ID, "Subitems")}
                subitems.parent_board_id, board.subitems_board_id = board.id, subitems.id
                settings = {"allowMultipleItems": True, "boardIds": [int(subitems.id)]}
            column = Column(column_id, title, column_type, settings, description)
            board.columns[column.id] = column
            return column

    def duplicate_board(self, board_id: Any, duplicate_type: str, name: str | None = None) -> Board:
        """A copy of a board's columns and groups (and subitems board), with its items unless
        ``duplicate_type`` is ``duplicate_board_with_structure``."""
        with self.lock:
            source = self.board(board_id)
            duplicate = self._copy_board(source, name or f"Duplicate of {source.name}")
            if source.subitems_board_id is not None:
                sub_copy = self._copy_board(self.board(source.subitems_board_id), None)
                sub_copy.name = f"Subitems of {duplicate.name}"
                sub_copy.parent_board_id, duplicate.subitems_board_id = duplicate.id, sub_copy.id
                for column in duplicate.columns.values():
                    if column.type == "subtasks":
                        column.settings = {**column.settings, "boardIds": [int(sub_copy.id)]}
            if duplicate_type != "duplicate_board_with_structure":
                self._copy_items(source, duplicate)
            return duplicate

    def _copy_board(self, source: Board, name: str | None) -> Board:
        board = Board(
            id=str(self._next_board_id),
            name=name or source.name,
            columns={c.id: copy.deepcopy(c) for c in source.columns.values()},
            groups={g.id: copy.deepcopy(g) for g in source.groups.values() if not g.deleted},
            kind=source.kind,
            updated_at=self._now(),
        )
        self._next_board_id += 1
        self.boards[board.id] = board
        return board

    def _copy_items(self, source: Board, target: Board) -> None:
        for item in [i for i in self.board_items(source.id) if i.state is ItemState.ACTIVE]:
            new = self._clone_item(item, target.id, None)
            for sub_id in item.subitem_ids:
                sub = self.items[sub_id]
                if sub.state is ItemState.ACTIVE and target.subitems_board_id is not None:
                    new.subitem_ids.append(
                        self._clone_item(sub, target.subitems_board_id, new.id).id
                    )

    def _clone_item(self, item: Item, board_id: str, parent_id: str | None) -> Item:
        now = self._now()
        clone = Item(
            id=str(self._next_item_id),
            board_id=board_id,
            group_id=item.group_id,
            name=item.name,
            created_at=now,
            updated_at=now,
            values=copy.deepcopy(item.values),
            parent_id=parent_id,
        )
        self._next_item_id += 1
        self.items[clone.id] = clone
        self._held[board_id] += 1
        return clone

    def update_labels(
        self,
        board_id: Any,
        column_id: str,
        column_type: str,
        revision: str,
        labels: list[dict[str, Any]],
        title: str | None = None,
        description: str | None = None,
    ) -> Column:
        """``update_status_column`` / ``update_dropdown_column``: labels, title, description.

        ``revision`` must be the column's current one (optimistic concurrency, as the schema
        describes it); a stale one is an ``InvalidArgumentException`` (the code is the
        emulator's choice: the docs name none).
        """
        with self.lock:
            board = self.board(board_id)
            column = board.columns.get(column_id)
            if column is None:
                raise api_errors.invalid_column(column_id, board.id)
            if column.type != column_type:
                raise api_errors.invalid_argument(
                    f"column {column_id} is a {column.type} column", column_type=column.type
                )
            if revision != str(column.revision):
                raise api_errors.invalid_argument(
                    "the column changed since that revision", revision=str(column.revision)
                )
            column.settings = column_settings.apply_label_updates(
                column.type, column.settings, labels
            )
            column.title = title if title is not None else column.title
            column.description = description if description is not None else column.description
            column.revision += 1
            return column

    def set_label_deactivated(
        self, board_id: Any, column_id: str, label: str, deactivated: bool = True
    ) -> Column:
        """Deactivate (or reactivate) a status or dropdown label (``column_settings``)."""
        with self.lock:
            board = self.board(board_id)
            column = board.columns.get(column_id)
            if column is None:
                raise api_errors.invalid_column(column_id, board.id)
            if not column_settings.set_deactivated(column.settings, label, deactivated):
                raise api_errors.invalid_argument(
                    f"label {label!r} does not exist in column", column_id=column_id
                )
            column.revision += 1
            return column

    # -- webhooks ------------------------------------------------------------------------

    def create_webhook(self, board_id: Any, url: str, event: str, config: Any) -> Webhook:
        """Validate, verify ``url`` (the challenge), then store; monday's errors otherwise."""
        with self.lock:
            board = self.board(board_id)
            config_text = _webhook_config(board, event, config)
            self._verify_url(url)
            webhook = Webhook(str(self._next_webhook_id), board.id, url, event, config_text)
            self._next_webhook_id += 1
            self.webhooks[webhook.id] = webhook
            return webhook

    # -- events --------------------------------------------------------------------------

    def _context(self) -> events.Context:
        return events.Context(self.actor, self._now())

    def _parent(self, item: Item) -> Item | None:
        return self.items[item.parent_id] if item.parent_id is not None else None

    def _emit(self, event: BoardEvent) -> None:
        if not self.silent:
            self._on_event(event)

    # -- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_VERSION,
                "next_item_id": self._next_item_id,
                "next_webhook_id": self._next_webhook_id,
                "next_group_number": self._next_group_number,
                "next_board_id": self._next_board_id,
                "next_column_number": self._next_column_number,
                "boards": [_board_to_dict(b) for b in self.boards.values()],
                "items": [asdict(item) for item in self.items.values()],
                "webhooks": [asdict(w) for w in self.webhooks.values()],
            }

    def load_dict(self, data: dict[str, Any]) -> None:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported emulator state version {data.get('version')!r}")
        with self.lock:
            self.boards = {b["id"]: _board_from_dict(b) for b in data["boards"]}
            self.items = {
                i["id"]: Item(**{**i, "state": ItemState(i["state"])}) for i in data["items"]
            }
            self.webhooks = {w["id"]: Webhook(**w) for w in data["webhooks"]}
            self._held = Counter(
                i.board_id for i in self.items.values() if i.state is not ItemState.DELETED
            )
            self._next_item_id = data["next_item_id"]
            self._next_webhook_id = data["next_webhook_id"]
            self._next_group_number = data["next_group_number"]
            self._next_board_id = data.get("next_board_id", FIRST_BOARD_ID)
            self._next_column_number = data.get("next_column_number", 1)

    def seed(self, specs: Iterable[BoardSpec]) -> None:
        for spec in specs:
            self.add_board(spec)


def _column_from_spec(spec: ColumnSpec, board: BoardSpec) -> Column:
    settings: dict[str, Any] = {}
    if spec.type == "status":
        free = [i for i in range(len(spec.labels) + 1) if i != values.DEFAULT_STATUS_INDEX]
        settings = column_settings.status_settings(zip(free, spec.labels, strict=False))
    elif spec.type == "dropdown":
        settings = column_settings.dropdown_settings(spec.labels)
    elif spec.type == "subtasks" and board.subitems_board_id is not None:
        settings = {"allowMultipleItems": True, "boardIds": [board.subitems_board_id]}
    return Column(spec.id, spec.title, spec.type, settings)


def _board_to_dict(board: Board) -> dict[str, Any]:
    data = asdict(board)
    data["columns"] = list(data["columns"].values())
    data["groups"] = list(data["groups"].values())
    return data


def _board_from_dict(data: dict[str, Any]) -> Board:
    return Board(
        **{
            **data,
            "columns": {c["id"]: _column_from_dict(c) for c in data["columns"]},
            "groups": {g["id"]: Group(**g) for g in data["groups"]},
        }
    )


def _column_from_dict(data: dict[str, Any]) -> Column:
    column = Column(**data)
    column.settings = column_settings.upgrade(column.type, column.settings)
    return column


def _webhook_config(board: Board, event: str, config: Any) -> str | None:
    """The config as stored (JSON text); ``change_specific_column_value`` needs a column."""
    if config is None:
        parsed: Any = None
    elif isinstance(config, str):
        try:
            parsed = json.loads(config) if config.strip() else None
        except json.JSONDecodeError as exc:
            raise api_errors.invalid_argument(f"config is not valid JSON: {exc.msg}") from exc
    else:
        parsed = config
    if parsed is not None and not isinstance(parsed, dict):
        raise api_errors.invalid_argument("config must be a JSON object", config=parsed)
    column_id = (parsed or {}).get("columnId")
    if event == "change_specific_column_value" and not column_id:
        raise api_errors.invalid_argument(
            "change_specific_column_value needs a config with columnId", config=parsed
        )
    filters_by_column = event in ("change_specific_column_value", "change_status_column_value")
    if filters_by_column and column_id is not None and column_id not in board.columns:
        raise api_errors.invalid_column(str(column_id), board.id)
    if config is None or isinstance(config, str):
        return config
    return values.stored_json(config)


def _json_object(raw: Any) -> dict[str, Any]:
    """``defaults``/``settings`` given as an object or as JSON text (monday takes both)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise api_errors.invalid_argument(f"defaults is not valid JSON: {exc.msg}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise api_errors.invalid_argument("defaults must be a JSON object", defaults=raw)
    return raw


def _optional_id(value: int | None) -> str | None:
    return None if value is None else str(value)
