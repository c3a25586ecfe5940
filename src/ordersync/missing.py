"""Items and subitems ordersync made that monday no longer holds (archived or deleted there),
and what ``[pull] missing_item_policy`` does about them. Used by ``pull`` (mirror rows the pass
did not read) and ``serve`` (items an ``item_archived``/``item_deleted`` event names).

And the way back (``restore_rows``): an item or subitem monday holds active again (restored
from the archive or the trash: ``item_restored``) whose mirror row says archived is active in
the mirror again, so the next sync updates it instead of creating a second one. Its line is
planned again (hash cleared): a line still in the source is compared and corrected; a line
gone from the source is archived again by the next sync of its scope.
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
    _log_state_changes(connection, db, board_id, gone, MirrorState.ACTIVE, source, now)


def restore_rows(
    connection: sa.Connection, db: Database, board_id: int, active_ids: Sequence[int], now: datetime
) -> list[MissingRow]:
    """Mirror rows archived for items or subitems monday holds active again: active again.

    Only rows whose monday id is the one monday names are touched (an item re-created since
    has a new id, and the restored one stays an unknown item). Returns what was restored.
    """
    tables, restored = db.tables, []
    for table, id_column, is_subitem in (
        (tables.items, tables.items.c.monday_item_id, False),
        (tables.subitems, tables.subitems.c.monday_subitem_id, True),
    ):
        for ids in chunked(connection, list(active_ids)):
            rows = connection.execute(
                sa.select(table).where(
                    table.c.board_id == board_id,
                    id_column.in_(ids),
                    table.c.state == MirrorState.ARCHIVED,
                )
            ).all()
            for row in rows:
                monday_id = row.monday_subitem_id if is_subitem else row.monday_item_id
                size = row.size_label if is_subitem else None
                restored.append(MissingRow(monday_id, row.order_key, size, "active"))
            connection.execute(
                table.update()
                .where(
                    table.c.board_id == board_id,
                    id_column.in_(ids),
                    table.c.state == MirrorState.ARCHIVED,
                )
                .values(state=MirrorState.ACTIVE)
            )
    if not restored:
        return []
    replan_items(connection, db, board_id, sorted({row.order_key for row in restored}))
    _log_state_changes(
        connection, db, board_id, restored, MirrorState.ARCHIVED, Source.WEBHOOK, now
    )
    return restored


def _log_state_changes(
    connection: sa.Connection,
    db: Database,
    board_id: int,
    rows: Sequence[MissingRow],
    old: MirrorState,
    source: Source,
    now: datetime,
) -> None:
    """One ``value_changes`` row per item or subitem whose state changed (``item_state``)."""
    connection.execute(
        db.tables.value_changes.insert(),
        [
            {
                "board_id": board_id,
                "monday_id": row.monday_id,
                "column_id": STATE_COLUMN,
                "order_key": row.order_key,
                "size_label": row.size_label,
                "old_text": old.value,
                "new_text": row.state,
                "source": str(source),
                "event_key": None,
                "recorded_at": now,
            }
            for row in rows
        ],
    )


def archived_subitems_of(
    connection: sa.Connection, db: Database, board_id: int, parent_ids: Sequence[int]
) -> list[int]:
    """Monday ids of the archived mirror subitems under these items (to check on restore)."""
    table = db.tables.subitems
    found: list[int] = []
    for ids in chunked(connection, list(parent_ids)):
        found.extend(
            connection.execute(
                sa.select(table.c.monday_subitem_id).where(
                    table.c.board_id == board_id,
                    table.c.monday_parent_item_id.in_(ids),
                    table.c.state == MirrorState.ARCHIVED,
                )
            ).scalars()
        )
    return sorted(found)
