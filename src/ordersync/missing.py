"""Items and subitems ordersync made that monday no longer holds (archived or deleted there),
and what ``[pull] missing_item_policy`` does about them. Used by ``pull`` (mirror rows the pass
did not read) and ``serve`` (items an ``item_archived``/``item_deleted`` event names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from ordersync.db import Database
from ordersync.pulled import Source, chunked, replan_items
from ordersync.states import MirrorState

STATE_COLUMN = "item_state"
"""``value_changes.column_id`` of a row recording that an item left the board."""

MissingPolicy = Literal["recreate", "flag"]


@dataclass(frozen=True)
class MissingRow:
    """A mirror row whose item or subitem monday no longer holds on the board.

    ``state`` is what monday says of it: ``archived``, ``deleted``, or ``active`` when it is
    still active but not on this board (moved elsewhere; only reported).
    """

    monday_id: int
    order_key: str
    size_label: str | None
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "monday_id": self.monday_id,
            "order_key": self.order_key,
            "size": self.size_label,
            "state": self.state,
        }


def handle_missing(
    connection: sa.Connection,
    db: Database,
    board_id: int,
    missing: Sequence[MissingRow],
    *,
    subitems: bool,
    policy: MissingPolicy,
    source: Source,
    now: datetime,
) -> None:
    """Apply ``[pull] missing_item_policy`` to rows gone from the board.

    ``recreate``: the mirror row is marked archived (an item's subitems with it), so the next
    sync creates it again (a subitem: its parent's line is planned again), and the change is
    logged in ``value_changes`` (column ``item_state``). ``flag``: nothing is written; the
    caller reports them.
    """
    gone = [row for row in missing if row.state in ("archived", "deleted")]
    if policy == "flag" or not gone:
        return
    tables = db.tables
    keys = sorted({row.order_key for row in gone})
    if subitems:
        table, id_column = tables.subitems, tables.subitems.c.monday_subitem_id
        for ids in chunked(connection, [row.monday_id for row in gone]):
            connection.execute(
                table.update()
                .where(table.c.board_id == board_id, id_column.in_(ids))
                .values(state=MirrorState.ARCHIVED)
            )
        replan_items(connection, db, board_id, keys)
    else:
        for table in (tables.items, tables.subitems):
            for chunk in chunked(connection, keys):
                connection.execute(
                    table.update()
                    .where(table.c.board_id == board_id, table.c.order_key.in_(chunk))
                    .values(state=MirrorState.ARCHIVED)
                )
    connection.execute(
        tables.value_changes.insert(),
        [
            {
                "board_id": board_id,
                "monday_id": row.monday_id,
                "column_id": STATE_COLUMN,
                "order_key": row.order_key,
                "size_label": row.size_label,
                "old_text": MirrorState.ACTIVE.value,
                "new_text": row.state,
                "source": str(source),
                "event_key": None,
                "recorded_at": now,
            }
            for row in gone
        ],
    )
