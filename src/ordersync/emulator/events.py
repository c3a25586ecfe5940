"""Board events in the shape of monday's webhook payloads.

Every change the store makes becomes one ``BoardEvent``: the webhook event type it triggers
(``name``), the board whose webhooks hear it (``board_id``: the parent board for subitem events,
as monday registers subitem webhooks on the parent board) and the ``payload``, monday's
``event`` object without the per-subscription fields (``subscriptionId``, ``isRetry``) that
``webhooks`` adds on delivery.

Shapes follow the payloads monday sends (developer.monday.com "Webhooks"; sample payloads of
the webhooks integration): ``type`` is monday's internal kind (``create_pulse``,
``update_column_value``, ``update_name``, ``archive_pulse``, ``delete_pulse``); ids are numbers
except ``parentItemId``/``parentItemBoardId`` on subitem events, which monday sends as strings;
archive and delete events carry ``itemId``/``itemName`` (and, for subitems, numeric
``parentItemId``/``parentBoardId`` and ``pulseId``). Column values use the webhook shapes, not
the API's: status ``{"label": {"index", "text", "style", "is_done"}, "post_id"}``, numbers
``{"value": 120}``, text ``{"value": "x"}``, dropdown ``{"chosenValues": [{"id", "name"}]}``,
date ``{"date", "time", "icon", "changed_at"}``, long text ``{"text", "changed_at"}``; an empty
column is ``null``. ``columnType`` uses monday's internal names (``color`` for status,
``numeric`` for numbers, ``long-text``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ordersync.emulator import column_settings
from ordersync.emulator.model import Board, Column, Group, Item

API_USER_ID = 70_000_001  # ``me``: the user behind the API token
PERSON_USER_ID = 70_000_002  # the person ``Emulator.act`` stands for

WEBHOOK_COLUMN_TYPES = {
    "status": "color",
    "numbers": "numeric",
    "long_text": "long-text",
    "item_id": "pulse-id",
}
# monday's default status label colours by index; the emulator renders these few.
STATUS_STYLES = {
    0: ("#fdab3d", "#e99729", "orange"),
    1: ("#00c875", "#00b461", "green-shadow"),
    2: ("#df2f4a", "#ce3048", "red-shadow"),
    3: ("#007eb5", "#3db0df", "blue-links"),
    4: ("#9d50dd", "#9238af", "purple"),
    5: ("#c4c4c4", "#b0b0b0", "grey"),
    6: ("#037f4c", "#116846", "grass_green"),
}
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class BoardEvent:
    """One change on a board, ready to be sent to the webhooks that listen for it.

    Attributes:
        name: the ``WebhookEventType`` it triggers (``change_subitem_column_value``, ...).
        board_id: the board whose webhooks hear it (the parent board for subitem events).
        payload: monday's ``event`` object, without ``subscriptionId`` and ``isRetry``.
        column_id: the changed column, for column events.
    """

    name: str
    board_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    column_id: str | None = None


@dataclass(frozen=True)
class Context:
    """Who made a change and when (wall-clock seconds)."""

    user_id: int
    now: float

    def common(self, kind: str, board: Board) -> dict[str, Any]:
        return {
            "app": "monday",
            "type": kind,
            "triggerTime": trigger_time(self.now),
            "userId": self.user_id,
            "originalTriggerUuid": None,
            "boardId": int(board.id),
            "triggerUuid": uuid.uuid4().hex,
        }


def item_created(
    ctx: Context, board: Board, item: Item, group: Group, parent: Item | None
) -> BoardEvent:
    """``create_item``, or ``create_subitem`` when ``parent`` is given."""
    payload = {
        **ctx.common("create_pulse", board),
        "pulseId": int(item.id),
        "pulseName": item.name,
        "groupId": group.id,
        "groupName": group.title,
        "groupColor": group.color,
        "isTopGroup": is_top_group(board, group),
        "columnValues": {
            column_id: webhook_value(board.columns[column_id], stored)
            for column_id, stored in item.values.items()
            if column_id in board.columns
        },
    }
    if parent is None:
        return BoardEvent("create_item", board.id, payload)
    payload.update(_subitem_fields(parent), itemId=int(item.id))
    return BoardEvent("create_subitem", parent.board_id, payload)


def column_changed(
    ctx: Context,
    board: Board,
    item: Item,
    column: Column,
    value: Any,
    previous: Any,
    parent: Item | None,
) -> BoardEvent:
    """``change_column_value``, or ``change_subitem_column_value`` on a subitem.

    ``value`` and ``previous`` are stored values (``values``); ``None`` is an empty column.
    """
    group = board.groups.get(item.group_id)
    payload = {
        **ctx.common("update_column_value", board),
        "groupId": item.group_id,
        "pulseId": int(item.id),
        "pulseName": item.name,
        "columnId": column.id,
        "columnType": webhook_column_type(column),
        "columnTitle": column.title,
        "value": webhook_value(column, value),
        "previousValue": webhook_value(column, previous),
        "changedAt": ctx.now,
        "isTopGroup": group is not None and is_top_group(board, group),
    }
    if parent is None:
        return BoardEvent("change_column_value", board.id, payload, column.id)
    payload.update(_subitem_fields(parent))
    return BoardEvent("change_subitem_column_value", parent.board_id, payload, column.id)


def name_changed(
    ctx: Context, board: Board, item: Item, previous_name: str, parent: Item | None
) -> BoardEvent:
    """``change_name``, or ``change_subitem_name`` on a subitem."""
    payload = {
        **ctx.common("update_name", board),
        "groupId": item.group_id,
        "pulseId": int(item.id),
        "value": {"name": item.name},
        "previousValue": {"name": previous_name},
    }
    if parent is None:
        return BoardEvent("change_name", board.id, payload, "name")
    payload.update(_subitem_fields(parent))
    return BoardEvent("change_subitem_name", parent.board_id, payload, "name")


def item_removed(
    ctx: Context, board: Board, item: Item, parent: Item | None, *, deleted: bool
) -> BoardEvent:
    """``item_archived``/``item_deleted``, or ``subitem_archived``/``subitem_deleted``."""
    kind, verb = ("delete_pulse", "deleted") if deleted else ("archive_pulse", "archived")
    payload = {**ctx.common(kind, board), "itemId": int(item.id), "itemName": item.name}
    if parent is None:
        return BoardEvent(f"item_{verb}", board.id, payload)
    # monday names the parent's board ``parentBoardId`` here, and sends numbers.
    payload.update(
        parentBoardId=int(parent.board_id), parentItemId=int(parent.id), pulseId=int(item.id)
    )
    return BoardEvent(f"subitem_{verb}", parent.board_id, payload)


def item_restored(ctx: Context, board: Board, item: Item) -> BoardEvent:
    """``item_restored``: an item back on its board from the archive or the trash.

    Undocumented payload; assumed like ``archive_pulse``'s (``itemId``, ``itemName``), with
    ``type`` ``restore_pulse``.
    """
    payload = {**ctx.common("restore_pulse", board), "itemId": int(item.id), "itemName": item.name}
    return BoardEvent("item_restored", board.id, payload)


def webhook_column_type(column: Column) -> str:
    return WEBHOOK_COLUMN_TYPES.get(column.type, column.type)


def webhook_value(column: Column, stored: Any) -> Any:
    """A stored column value (see ``values``) as monday's webhooks write it; ``None`` if empty."""
    if stored is None:
        return None
    if column.type == "text":
        return {"value": stored}
    if column.type == "numbers":
        return {"value": int(stored) if _INTEGER.match(stored) else float(stored)}
    if column.type == "status":
        index = int(stored["index"])
        color, border, var_name = STATUS_STYLES.get(index, STATUS_STYLES[5])
        entry = column_settings.by_id(column.settings, index)
        label = "" if entry is None else entry["label"]
        return {
            "label": {
                "index": index,
                "text": label,
                "style": {"color": color, "border": border, "var_name": var_name},
                "is_done": False,
            },
            "post_id": stored.get("post_id"),
        }
    if column.type == "dropdown":
        names = {o["id"]: o["label"] for o in column_settings.labels(column.settings)}
        chosen = [{"id": i, "name": names[i]} for i in stored["ids"] if i in names]
        return {"chosenValues": chosen}
    if isinstance(stored, dict):  # date, long text, subtasks: already monday's shape
        return dict(stored)
    return {"value": stored}


def same_value(stored: Any, other: Any) -> bool:
    """Whether two stored values are equal but for when they were written."""
    return _without_changed_at(stored) == _without_changed_at(other)


def is_top_group(board: Board, group: Group) -> bool:
    live = [g for g in board.groups.values() if not g.deleted]
    return bool(live) and live[0].id == group.id


def trigger_time(seconds: float) -> str:
    """``2026-01-31T12:00:00.123Z``: monday's ``triggerTime`` (milliseconds, UTC)."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def subtasks_value(subitems: list[Item], changed_at: str) -> dict[str, Any] | None:
    """The parent's ``subtasks`` column as a webhook writes it (``None`` without subitems)."""
    if not subitems:
        return None
    linked = [{"linkedPulseId": int(sub.id)} for sub in subitems]
    return {"linkedPulseIds": linked, "changed_at": changed_at}


def _subitem_fields(parent: Item) -> dict[str, Any]:
    # monday sends these two as strings on subitem create/change events.
    return {"parentItemId": parent.id, "parentItemBoardId": parent.board_id}


def _without_changed_at(stored: Any) -> Any:
    if isinstance(stored, dict):
        return {k: v for k, v in stored.items() if k != "changed_at"}
    return stored
