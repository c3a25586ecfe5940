"""Item pages: filters (``query_params``, column values) and opaque cursors that expire.

``items_page`` picks the matching active items of a board in creation order (rules ``any_of``,
``not_any_of``, ``is_empty``, ``is_not_empty``, ``contains_text`` on any column, and the
comparisons on ``__last_updated__`` monday's Python SDK uses; other operators answer
``NOT_EMULATED``), returns the first ``limit`` and, when more remain, a cursor. A cursor is an
opaque token for a snapshot of the
matching item ids and a position; ``next_items_page`` continues from it. As on monday, a cursor
lives 60 minutes (``Limits.cursor_ttl``) from the first page's request, measured on the
emulator's clock; after that it answers ``CursorExpiredError``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordersync.clock import Clock
from ordersync.emulator import api_errors
from ordersync.emulator.api_errors import MondayAPIError
from ordersync.emulator.fields import not_emulated
from ordersync.emulator.model import Board, Column, Item
from ordersync.emulator.store import Store

MAX_PAGE_SIZE = 500
LAST_UPDATED = "__last_updated__"


@dataclass(frozen=True)
class _CursorState:
    item_ids: tuple[str, ...]
    position: int
    created_at: float
    board_id: str | None = None


class CursorRegistry:
    """Issues and resolves cursors; thread-safe."""

    def __init__(self, clock: Clock, ttl: float, max_page_size: int = MAX_PAGE_SIZE) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_page_size = max_page_size
        self._cursors: dict[str, _CursorState] = {}
        self._lock = threading.Lock()

    def first_page(
        self, item_ids: list[str], limit: int, board_id: str | None = None
    ) -> tuple[list[str], str | None]:
        self._check_limit(limit)
        state = _CursorState(tuple(item_ids), 0, self._clock.monotonic(), board_id)
        return self._page(state, limit)

    def board_of(self, token: str) -> str | None:
        """The board a cursor pages (``None`` for an unknown cursor)."""
        with self._lock:
            state = self._cursors.get(token)
        return None if state is None else state.board_id

    def next_page(self, token: str, limit: int) -> tuple[list[str], str | None]:
        self._check_limit(limit)
        with self._lock:
            state = self._cursors.get(token)
        if state is None:
            raise MondayAPIError(
                api_errors.CURSOR_INVALID, "The cursor is not valid", error_data={"cursor": token}
            )
        if self._clock.monotonic() - state.created_at >= self._ttl:
            raise MondayAPIError(
                api_errors.CURSOR_EXPIRED,
                "The cursor provided for pagination has expired. "
                "Please initiate a new pagination request.",
                error_data={"cursor": token},
            )
        return self._page(state, limit)

    def _page(self, state: _CursorState, limit: int) -> tuple[list[str], str | None]:
        end = state.position + limit
        page = list(state.item_ids[state.position : end])
        if end >= len(state.item_ids):
            return page, None
        token = "MSw" + secrets.token_urlsafe(36)
        with self._lock:
            self._purge_expired()
            self._cursors[token] = _CursorState(
                state.item_ids, end, state.created_at, state.board_id
            )
        return page, token

    def _purge_expired(self) -> None:
        now = self._clock.monotonic()
        expired = [t for t, s in self._cursors.items() if now - s.created_at >= 2 * self._ttl]
        for token in expired:
            del self._cursors[token]

    def _check_limit(self, limit: int) -> None:
        if not 1 <= limit <= self._max_page_size:
            raise api_errors.invalid_argument(
                f"limit must be between 1 and {self._max_page_size}", limit=limit
            )


def select_items(store: Store, board: Board, query_params: dict[str, Any] | None) -> list[Item]:
    """The active items of ``board`` matching ``query_params`` (ids, rules, order_by)."""
    items = [item for item in store.board_items(board.id) if item.is_active]
    params = query_params or {}
    if params.get("ids") is not None:
        wanted = {str(item_id) for item_id in params["ids"]}
        items = [item for item in items if item.id in wanted]
    rules = params.get("rules") or []
    if rules:
        combine = any if params.get("operator") == "or" else all
        checks = [(_rule_column(board, rule["column_id"]), rule) for rule in rules]
        items = [i for i in items if combine(_rule_holds(store, i, c, r) for c, r in checks)]
    for order in reversed(params.get("order_by") or []):
        column = _rule_column(board, order["column_id"])
        items.sort(
            key=lambda item: _sort_key(store, item, column),
            reverse=order.get("direction") == "desc",
        )
    return items


def items_by_column_values(
    store: Store, board: Board, columns: Iterable[dict[str, Any]] | None
) -> list[Item]:
    """Items (active, or as ``Store.in_lookups`` says) whose every listed column holds one of
    its listed values."""
    conditions = [(_column(board, c["column_id"]), c["column_values"]) for c in columns or []]
    return [
        item
        for item in store.board_items(board.id)
        if store.in_lookups(item)
        and all(_match_keys(store, item, col) & _strings(vals) for col, vals in conditions)
    ]


def _rule_holds(store: Store, item: Item, column: Column | None, rule: dict[str, Any]) -> bool:
    operator = rule.get("operator") or "any_of"
    if column is None:  # __last_updated__
        return _compare(item.updated_at, operator, _timestamp(rule.get("compare_value")))
    keys = _match_keys(store, item, column)
    text = store.cell(item, column)[0]
    wanted = _strings(rule.get("compare_value"))
    if operator == "is_empty":
        return text == ""
    if operator == "is_not_empty":
        return text != ""
    if operator == "contains_text":
        return any(w.lower() in text.lower() for w in wanted)
    if operator not in ("any_of", "not_any_of"):
        raise not_emulated(f"ItemsQueryRule(operator: {operator}) on column {column.id}")
    hit = bool(keys & wanted)
    return not hit if operator == "not_any_of" else hit


def _compare(value: float, operator: str, bound: float) -> bool:
    """The comparisons the ``__last_updated__`` pseudo-column takes (monday's Python SDK reads
    large boards with them: ``compare_value: ["EXACT", "<ISO time>"]``)."""
    comparisons = {
        "greater_than": value > bound,
        "greater_than_or_equals": value >= bound,
        "lower_than": value < bound,
        "lower_than_or_equal": value <= bound,
    }
    if operator not in comparisons:
        raise not_emulated(f"ItemsQueryRule(operator: {operator}) on __last_updated__")
    return comparisons[operator]


def _timestamp(compare_value: Any) -> float:
    for part in reversed(compare_value if isinstance(compare_value, list) else [compare_value]):
        try:
            return datetime.fromisoformat(str(part).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    raise api_errors.invalid_argument(
        "__last_updated__ needs an ISO 8601 time in compare_value", compare_value=compare_value
    )


def _sort_key(store: Store, item: Item, column: Column | None) -> Any:
    return item.updated_at if column is None else store.cell(item, column)[0]


def _match_keys(store: Store, item: Item, column: Column) -> set[str]:
    """Everything a compare value may name: the text, status index, dropdown ids and labels."""
    text = store.cell(item, column)[0]
    keys = {text}
    stored = item.values.get(column.id)
    if column.type == "status" and stored:
        keys.add(str(stored["index"]))
    if column.type == "dropdown" and stored:
        keys.update(str(option_id) for option_id in stored["ids"])
        keys.update(text.split(", "))
    return keys


def _strings(value: Any) -> set[str]:
    values = value if isinstance(value, list) else [value]
    return {"" if v is None else str(v) for v in values}


def _rule_column(board: Board, column_id: Any) -> Column | None:
    """A rule's or order's column; ``None`` for monday's ``__last_updated__`` pseudo-column."""
    return None if str(column_id) == LAST_UPDATED else _column(board, column_id)


def _column(board: Board, column_id: Any) -> Column:
    column = board.columns.get(str(column_id))
    if column is None:
        raise api_errors.invalid_column(str(column_id), board.id)
    return column
