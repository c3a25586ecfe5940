"""The emulator's nouns, as plain data: boards, columns, groups, items and webhooks.

Ids are strings (GraphQL ``ID``) as monday returns them. An item's ``values`` hold each column's
stored value in monday's own JSON shape (see ``values``); a missing key is an empty column.
Timestamps are wall-clock seconds derived from the emulator's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ordersync.clock import Clock


class ItemState(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


@dataclass
class Column:
    id: str
    title: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    revision: int = 1


@dataclass
class Group:
    id: str
    title: str
    color: str = "#579bfc"
    archived: bool = False
    deleted: bool = False


@dataclass
class Board:
    id: str
    name: str
    columns: dict[str, Column]
    groups: dict[str, Group]
    state: str = "active"
    kind: str = "public"
    subitems_board_id: str | None = None
    parent_board_id: str | None = None
    updated_at: float | None = None
    description: str | None = None

    @property
    def is_subitems_board(self) -> bool:
        return self.parent_board_id is not None


@dataclass
class Item:
    id: str
    board_id: str
    group_id: str
    name: str
    created_at: float
    updated_at: float
    values: dict[str, Any] = field(default_factory=dict)
    state: ItemState = ItemState.ACTIVE
    parent_id: str | None = None
    subitem_ids: list[str] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.state is ItemState.ACTIVE


@dataclass
class Webhook:
    id: str
    board_id: str
    url: str
    event: str
    config: str | None = None


def iso_timestamp(seconds: float) -> str:
    """``2026-01-31T12:00:00Z``: how monday writes dates and times."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WallClock:
    """Wall-clock seconds read through an injected clock: anchored once, then ``monotonic``.

    A ``ManualClock`` moves these timestamps (and the UTC day of the daily limit) too.
    """

    def __init__(self, clock: Clock, epoch: float) -> None:
        self._clock = clock
        self._anchor = clock.monotonic()
        self._epoch = epoch

    def __call__(self) -> float:
        return self._epoch + (self._clock.monotonic() - self._anchor)
