"""monday's webhook events as ordersync reads and stores them: strict parsing (so no stored
event can fail later), the key that makes a retried event one event, and the events table.

An id is a positive integer that fits a BIGINT, sent as a JSON number or as a string of ASCII
digits (monday sends ``parentItemId``/``parentItemBoardId`` as strings): ``"²"`` (a digit to
``str.isdigit`` but not to ``int``), ``"1e3"``, ``"-1"``, ``true`` and 30-digit ids are refused.
Bodies nested deeper than ``MAX_DEPTH`` are refused before anything walks them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.db import Database, utcnow
from ordersync.states import EventState

MAX_ID = 2**63 - 1  # a BIGINT; monday's ids are far below
MAX_DEPTH = 32  # monday's payloads nest 5 deep at most
ITEM_ID_FIELDS = ("pulseId", "itemId")
PARENT_BOARD_FIELDS = ("parentItemBoardId", "parentBoardId")
ID_FIELDS = ("boardId", *ITEM_ID_FIELDS, *PARENT_BOARD_FIELDS, "parentItemId")

ERROR_CHARS = 2000
"""The most of an error message kept on an event (``error``): enough to read the cause, while
a message quoting a long monday answer or payload does not grow every waiting event's row."""
EVENT_TYPE_CHARS = 64  # the width of the events table's ``event_type`` (db/tables.py)
TRIGGER_KEY_CHARS = 120  # fits ``event_key`` (128); a longer ``triggerUuid``: keyed by a hash
SHOWN_CHARS = 40  # a value quoted in an error message, cut with "..."


class EventError(ValueError):
    """A webhook body or event ordersync cannot use (answered 400, or quarantined)."""


@dataclass(frozen=True)
class Event:
    """What applying needs of one event.

    Attributes:
        key: the stored event's key (``event_key``).
        board_id: the board monday names (the subitems board for subitem events).
        monday_id: the item or subitem it is about (``None``: none named).
        parent_board_id: the items board, on subitem events.
        kind: monday's ``type`` (``update_column_value``, ``archive_pulse``, ...).
    """

    key: str
    board_id: int
    monday_id: int | None
    parent_board_id: int | None
    kind: str


def parse_id(value: Any, name: str) -> int:
    """A monday id from a payload; ``EventError`` unless it is a positive BIGINT."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EventError(f"{name} is not an id: {_shown(value)}")
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise EventError(f"{name} is not an id: {_shown(value)}")
    number = int(text)
    if not 0 < number <= MAX_ID:
        raise EventError(f"{name} is out of range: {_shown(value)}")
    return number


def parse_event(event: Any, key: str = "") -> Event:
    """Check an ``event`` object; ``EventError`` says what is wrong."""
    if not isinstance(event, dict):
        raise EventError("expected {'event': {...}} or {'challenge': ...}")
    if event.get("boardId") is None:
        raise EventError("the event names no boardId")
    ids = {name: parse_id(event[name], name) for name in ID_FIELDS if event.get(name) is not None}
    kind = event.get("type", "event")
    if not isinstance(kind, str) or len(kind) > 64:
        raise EventError(f"type is not an event type: {_shown(kind)}")
    monday_id = next((ids[n] for n in ITEM_ID_FIELDS if n in ids), None)
    parent = next((ids[n] for n in PARENT_BOARD_FIELDS if n in ids), None)
    return Event(key, ids["boardId"], monday_id, parent, kind)


def parse_body(raw: bytes) -> Any:
    """JSON, refused when it is not JSON or nests deeper than ``MAX_DEPTH``."""
    check_depth(raw)
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError) as error:
        raise EventError("body is not JSON") from error


def check_depth(raw: bytes) -> None:
    """Refuse text nesting ``[``/``{`` deeper than ``MAX_DEPTH`` (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                raise EventError(f"body nests deeper than {MAX_DEPTH} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1


def event_key(event: dict[str, Any]) -> str:
    """monday's ``triggerUuid``, else a hash of the event without per-delivery fields."""
    trigger = event.get("triggerUuid")
    if isinstance(trigger, str) and 0 < len(trigger) <= TRIGGER_KEY_CHARS:
        return trigger
    stable = {k: v for k, v in event.items() if k not in ("subscriptionId", "isRetry")}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def store_event(db: Database, event: dict[str, Any], parsed: Event) -> bool:
    """Store one event (PENDING) in its own transaction; ``False`` when already stored."""
    table = db.tables.webhook_events
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.insert().values(
                    event_key=event_key(event),
                    board_id=parsed.board_id,
                    event_type=parsed.kind[:EVENT_TYPE_CHARS],
                    payload=json.dumps(event, ensure_ascii=False, default=str),
                    received_at=utcnow(),
                    state=EventState.PENDING,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def quarantine(connection: sa.Connection, db: Database, keys: list[str], reason: str) -> None:
    """Set events aside for good, with the reason; the others go on."""
    table = db.tables.webhook_events
    if keys:
        connection.execute(
            table.update()
            .where(table.c.event_key.in_(keys))
            .values(state=EventState.QUARANTINED, error=reason[:ERROR_CHARS], applied_at=None)
        )


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
