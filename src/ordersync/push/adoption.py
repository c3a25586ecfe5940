"""An adopted item is taken as it is on the board, and its differences are planned at once.

When a create finds the item already on monday (a fresh database against a board that holds
the orders, a lost answer), ordersync adopts it instead of creating a duplicate. The board's
item may not hold what the source says (another tool wrote it, a person edited it): adoption
reads its pushed columns, its group and its subitems and, in the same batch, stages what
differs exactly as for a MODIFIED line: an item UPDATE of the columns (and name) that differ,
a MOVE to the line's group, and per size a subitem UPDATE (another quantity), CREATE
(missing: the staged create stays) or ARCHIVE (a size the source does not have). The mirror
records what the board holds until those changes are delivered, so a change monday refuses
is planned again by the next sync.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.mirror import Mirror
from ordersync.monday import Item, MondayClient
from ordersync.monday.column_values import from_monday
from ordersync.pull.recorder import board_write_format, pushed_value, read_value
from ordersync.push.normalize import clean_text
from ordersync.states import Action, RowStatus


def read_adopted(client: MondayClient, config: SyncConfig, item_ids: list[int]) -> dict[int, Item]:
    """The adopted items with their pushed columns and their subitems' size and quantity."""
    if not item_ids:
        return {}
    sub = config.subitems
    items = client.get_items(
        sorted(set(item_ids)),
        column_ids=[column.column_id for column in config.items.columns],
        with_subitems=True,
        subitem_column_ids=[sub.size_column_id, sub.qty_column_id],
    )
    return {item.id: item for item in items}


@dataclass
class Differences:
    """What adoption staged in addition to the batch's plan (batch counters)."""

    planned_item_updates: int = 0
    planned_subitem_updates: int = 0
    planned_subitem_archives: int = 0
    planned_subitems: int = 0  # creates turned into updates are subtracted

    def counters(self) -> dict[str, int]:
        """The batch counters to add to (the fields are named after them)."""
        return asdict(self)


class Adoption:
    """Stages the differences between adopted items and their staged creates."""

    def __init__(
        self, db: Database, config: SyncConfig, board_id: int, group_ids: dict[str, str]
    ) -> None:
        self.db, self.config, self.board_id = db, config, board_id
        self.group_ids = group_ids  # group title → id on the board
        self.tables = db.tables
        self.mirror = Mirror(db.tables, board_id)
        self.types = {c.column_id: c.type for c in config.items.columns}

    def stage(self, connection: sa.Connection, row: sa.Row, item: Item, found: Differences) -> None:
        """Record what ``item`` holds in the mirror; stage what differs from staged ``row``."""
        wanted: dict[str, Any] = json.loads(row.column_values or "{}")
        on_board = self._board_values(item)
        changed = {
            column_id: wanted.get(column_id)
            for column_id, column_type in self.types.items()
            if pushed_value(column_type, wanted.get(column_id)).text
            != pushed_value(column_type, on_board.get(column_id)).text
        }
        if item.name != row.item_name:
            changed["name"] = row.item_name
        if changed:
            self._mirror_item(connection, row, item, on_board)
            self._stage_item(connection, row, item.id, Action.UPDATE, changed)
            found.planned_item_updates += 1
        wanted_group = self.group_ids.get(row.group_title)
        if wanted_group is not None and item.group_id not in (None, wanted_group):
            self._mirror_group(connection, row, item.group_id)
            self._stage_item(connection, row, item.id, Action.MOVE, {})
            found.planned_item_updates += 1  # a move counts as an update
        self._stage_sizes(connection, row, item, found)

    def _board_values(self, item: Item) -> dict[str, Any]:
        values = {}
        for column_id, column_type in self.types.items():
            cell = item.values.get(column_id)
            if cell is not None:
                value = board_write_format(
                    column_type, read_value(column_type, cell.value, cell.text)
                )
                if value is not None:
                    values[column_id] = value
        return values

    def _mirror_item(
        self, connection: sa.Connection, row: sa.Row, item: Item, on_board: dict[str, Any]
    ) -> None:
        """The mirror holds the board's values (and no hash) until the update lands."""
        self.mirror.update_item(
            connection,
            row.order_key,
            item_name=item.name,
            column_values=json.dumps(on_board, ensure_ascii=False),
            row_hash=None,
        )

    def _mirror_group(self, connection: sa.Connection, row: sa.Row, group_id: str) -> None:
        """The mirror says where the item is until it is moved."""
        titles = {group: title for title, group in self.group_ids.items()}
        self.mirror.update_item(
            connection, row.order_key, group_id=group_id, group_title=titles.get(group_id)
        )

    def _stage_item(
        self,
        connection: sa.Connection,
        row: sa.Row,
        item_id: int,
        action: Action,
        changed: dict[str, Any],
    ) -> None:
        connection.execute(
            self.tables.staged_items.insert().values(
                stg_id=str(uuid.uuid4()),
                batch_id=row.batch_id,
                action=action,
                order_key=row.order_key,
                item_name=row.item_name,
                group_title=row.group_title,
                column_values=json.dumps(changed, ensure_ascii=False),
                row_hash=row.row_hash if action == Action.UPDATE else None,
                customer=row.customer,
                po_number=row.po_number,
                season=row.season,
                status=RowStatus.PENDING,
                monday_item_id=item_id,
                created_at=utcnow(),
            )
        )

    def _stage_sizes(
        self, connection: sa.Connection, row: sa.Row, item: Item, found: Differences
    ) -> None:
        """Per size: the same quantity is adopted later (by the subitem creates' lookup),
        another quantity becomes an UPDATE, a size the source lacks an ARCHIVE."""
        staged = self.tables.staged_subitems
        creates = {
            r.size_label: r
            for r in connection.execute(
                sa.select(staged).where(
                    staged.c.parent_stg_id == row.stg_id,
                    staged.c.action == Action.CREATE,
                    staged.c.status == RowStatus.PENDING,
                )
            )
        }
        for size, (subitem_id, qty) in self._board_sizes(item).items():
            create = creates.get(size)
            if create is not None and create.qty == qty:
                continue
            self._mirror_subitem(connection, row, item.id, size, subitem_id, qty)
            if create is not None:
                connection.execute(
                    staged.update()
                    .where(staged.c.stg_id == create.stg_id)
                    .values(action=Action.UPDATE, monday_subitem_id=subitem_id)
                )
                found.planned_subitems -= 1
                found.planned_subitem_updates += 1
                continue
            connection.execute(
                staged.insert().values(
                    stg_id=str(uuid.uuid4()),
                    batch_id=row.batch_id,
                    parent_stg_id=row.stg_id,
                    action=Action.ARCHIVE,
                    order_key=row.order_key,
                    size_label=size,
                    qty=None,
                    column_values="{}",
                    status=RowStatus.PENDING,
                    monday_subitem_id=subitem_id,
                    created_at=utcnow(),
                )
            )
            found.planned_subitem_archives += 1

    def _board_sizes(self, item: Item) -> dict[str, tuple[int, int | None]]:
        """size → (subitem id, quantity) of the item's active subitems (the oldest per size)."""
        sub = self.config.subitems
        sizes: dict[str, tuple[int, int | None]] = {}
        for subitem in sorted(item.subitems, key=lambda s: s.id):
            if subitem.state != "active":
                continue
            cell = subitem.values.get(sub.size_column_id)
            size = clean_text(cell.text if cell else None) or subitem.name
            qty_cell = subitem.values.get(sub.qty_column_id)
            try:
                number = from_monday("numbers", qty_cell.value, qty_cell.text) if qty_cell else None
            except ValueError:
                number = None
            sizes.setdefault(size, (subitem.id, None if number is None else int(number)))
        return sizes

    def _mirror_subitem(
        self,
        connection: sa.Connection,
        row: sa.Row,
        parent_id: int,
        size: str,
        subitem_id: int,
        qty: int | None,
    ) -> None:
        self.mirror.promote_subitem(
            connection,
            row.order_key,
            size,
            {
                "monday_subitem_id": subitem_id,
                "monday_parent_item_id": parent_id,
                "qty": qty,
                "row_hash": None,
                "batch_id": row.batch_id,
                "synced_at": utcnow(),
            },
        )
