"""Items and subitems ordersync made that monday no longer holds (archived or deleted there),
and what ``[pull] missing_item_policy`` does about them. ``pull`` (mirror rows the pass did not
read) and ``serve`` (items an ``item_archived``/``item_deleted`` event names) both hand what
they found to ``settle_missing``; the mirror is written through ``mirror.Mirror``.

And the way back (``restore_rows``): an item or subitem monday holds active again (restored
from the archive or the trash: ``item_restored``) whose mirror row says archived is active in
the mirror again, so the next sync updates it instead of creating a second one. Its line is
planned again (hash cleared): a line still in the source is compared and corrected; a line
gone from the source is archived again by the next sync of its scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from ordersync.db import Database
from ordersync.db.engine import parameter_chunks
from ordersync.mirror import Mirror
from ordersync.states import MirrorState, Source

STATE_COLUMN = "item_state"
"""``value_changes.column_id`` of a row recording that an item left the board."""

MissingPolicy = Literal["recreate", "flag"]
GONE_STATES = frozenset({"archived", "deleted"})  # monday's states of a row it no longer shows


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

    def with_state(self, states: Mapping[int, str]) -> MissingRow:
        """This row with monday's state of it (an id monday does not know: deleted)."""
        return replace(self, state=states.get(self.monday_id, "deleted"))


def outside_lines(subitems: Sequence[MissingRow], items: Sequence[MissingRow]) -> list[MissingRow]:
    """The subitems whose item is not missing itself (an item gone takes its subitems)."""
    gone_keys = {row.order_key for row in items}
    return [row for row in subitems if row.order_key not in gone_keys]


def rows_of(
    connection: sa.Connection,
    db: Database,
    board_id: int,
    monday_ids: Sequence[int],
    states: Mapping[int, str],
) -> tuple[list[MissingRow], list[MissingRow]]:
    """The active mirror items and subitems of these monday ids, with monday's state of each
    (``states``; absent: deleted)."""
    mirror = Mirror(db.tables, board_id)
    found = []
    for subitems in (False, True):
        rows = mirror.active_rows(connection, monday_ids, subitems=subitems).items()
        found.append(
            [
                MissingRow(
                    monday_id, row.order_key, getattr(row, "size_label", None), "unknown"
                ).with_state(states)
                for monday_id, row in rows
            ]
        )
    return found[0], found[1]


def settle_missing(
    connection: sa.Connection,
    db: Database,
    board_id: int,
    items: Sequence[MissingRow],
    subitems: Sequence[MissingRow],
    *,
    policy: MissingPolicy,
    source: Source,
    now: datetime,
) -> tuple[list[MissingRow], list[MissingRow]]:
    """Items and subitems gone from the board (pull and serve alike): the subitems of a
    missing item go with it; the policy is applied to both (``handle_missing``).

    Returns:
        The missing items and subitems to report.
    """
    items, subitems = list(items), outside_lines(subitems, items)
    for rows, is_subitem in ((items, False), (subitems, True)):
        handle_missing(
            connection,
            db,
            board_id,
            rows,
            subitems=is_subitem,
            policy=policy,
            source=source,
            now=now,
        )
    return items, subitems


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
    gone = [row for row in missing if row.state in GONE_STATES]
    if policy == "flag" or not gone:
        return
    _archive_in_mirror(connection, Mirror(db.tables, board_id), gone, subitems=subitems)
    _log_state_changes(connection, db, board_id, gone, MirrorState.ACTIVE, source, now)


def _archive_in_mirror(
    connection: sa.Connection, mirror: Mirror, gone: Sequence[MissingRow], *, subitems: bool
) -> None:
    """Rows gone from the board archived in the mirror, so the next sync creates them again:
    an item with its subitems; a subitem alone, its line planned again (hash cleared)."""
    keys = sorted({row.order_key for row in gone})
    if subitems:
        mirror.archive_subitems(connection, [row.monday_id for row in gone])
        mirror.forget_hashes(connection, keys)
    else:
        mirror.archive_lines(connection, keys)


def restore_rows(
    connection: sa.Connection, db: Database, board_id: int, active_ids: Sequence[int], now: datetime
) -> list[MissingRow]:
    """Mirror rows archived for items or subitems monday holds active again: active again.

    Only rows whose monday id is the one monday names are touched (an item re-created since
    has a new id, and the restored one stays an unknown item). Returns what was restored.
    """
    mirror, restored = Mirror(db.tables, board_id), []
    for is_subitem in (False, True):
        for row in mirror.restore(connection, active_ids, subitems=is_subitem):
            monday_id = row.monday_subitem_id if is_subitem else row.monday_item_id
            size = row.size_label if is_subitem else None
            restored.append(MissingRow(monday_id, row.order_key, size, "active"))
    if not restored:
        return []
    mirror.forget_hashes(connection, {row.order_key for row in restored})
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
    for ids in parameter_chunks(connection, list(parent_ids)):
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
