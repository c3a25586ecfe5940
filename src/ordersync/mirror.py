"""The mirror: what ordersync knows of one board's items (``MON_CustMasterSchedule``) and
subitems (``MON_CustMasterSchedule_Subitems``), and every write to those two tables.

Delivery promotes what monday confirmed (``promote_item``, ``merge_item_values``,
``update_item``, ``promote_subitem``, ``update_subitem``, ``archive_row``); adoption writes
what it found on the board the same way. A pull or a webhook records when monday was read
(``stamp_pulled``), the snapshot of the values people own there (``snapshot_values``) and the
hand edits of pushed values (``forget_drifted_items``, ``forget_drifted_subitems``). Rows gone
from the board are archived (``archive_lines``, ``archive_subitems``) and come back with
``restore``. The rule the plan relies on lives here once: a line whose ``row_hash`` is cleared
(``forget_hashes``) is diffed again by the next plan.

Every method writes on the caller's connection, inside its transaction; lists of ids or keys
are sliced to what one statement may bind on the dialect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ordersync.db import Tables, upsert
from ordersync.db.engine import parameter_chunks
from ordersync.states import MirrorState

ITEM_ID, SUBITEM_ID = "monday_item_id", "monday_subitem_id"


class Mirror:
    """The mirror rows of one board (``board_id``: the items board, for subitems too).

    Args:
        tables: ordersync's tables.
        board_id: the items board.
    """

    def __init__(self, tables: Tables, board_id: int) -> None:
        self.items, self.subitems, self.board_id = tables.items, tables.subitems, board_id

    def table(self, *, subitems: bool) -> tuple[sa.Table, sa.Column[Any]]:
        """The items or subitems table and its monday id column."""
        if subitems:
            return self.subitems, self.subitems.c[SUBITEM_ID]
        return self.items, self.items.c[ITEM_ID]

    # ------------------------------------------------------------------ reading
    def active_rows(
        self, connection: sa.Connection, monday_ids: Iterable[int], *, subitems: bool
    ) -> dict[int, sa.Row]:
        """Active rows for these monday ids, by id (one query per slice of ids)."""
        table, id_column = self.table(subitems=subitems)
        found: dict[int, sa.Row] = {}
        for ids in parameter_chunks(connection, sorted(set(monday_ids))):
            rows = connection.execute(
                sa.select(table).where(
                    table.c.board_id == self.board_id,
                    table.c.state == MirrorState.ACTIVE,
                    id_column.in_(ids),
                )
            )
            for row in rows:
                found[row._mapping[id_column.name]] = row
        return found

    # ------------------------------------------------------------------ the plan's rule
    def forget_hashes(self, connection: sa.Connection, order_keys: Iterable[str]) -> None:
        """Clear these lines' item hash: the next plan diffs them again."""
        items = self.items
        for keys in parameter_chunks(connection, sorted(set(order_keys))):
            connection.execute(
                items.update()
                .where(items.c.board_id == self.board_id, items.c.order_key.in_(keys))
                .values(row_hash=None)
            )

    # ------------------------------------------------------------------ delivery, adoption
    def promote_item(
        self, connection: sa.Connection, order_key: str, values: Mapping[str, Any]
    ) -> None:
        """The line's item, created or found on monday: inserted, or updated; active."""
        keys = {"board_id": self.board_id, "order_key": order_key}
        upsert(connection, self.items, keys, {**values, "state": MirrorState.ACTIVE})

    def update_item(self, connection: sa.Connection, order_key: str, **values: Any) -> None:
        """Set ``values`` on the line's item row."""
        items = self.items
        connection.execute(
            items.update()
            .where(items.c.board_id == self.board_id, items.c.order_key == order_key)
            .values(**values)
        )

    def merge_item_values(
        self,
        connection: sa.Connection,
        order_key: str,
        changed: Mapping[str, Any],
        **values: Any,
    ) -> None:
        """An update monday applied: ``changed`` (column id → monday value; ``None`` cleared
        the column, ``name`` is the item's name, not a column) merged into the row's
        ``column_values``, and ``values`` set."""
        items = self.items
        where = sa.and_(items.c.board_id == self.board_id, items.c.order_key == order_key)
        current = connection.execute(sa.select(items.c.column_values).where(where)).scalar()
        merged = json.loads(current or "{}")
        for column_id, value in changed.items():
            if column_id == "name":
                continue
            if value is None:
                merged.pop(column_id, None)
            else:
                merged[column_id] = value
        column_values = json.dumps(merged, ensure_ascii=False)
        self.update_item(connection, order_key, column_values=column_values, **values)

    def promote_subitem(
        self, connection: sa.Connection, order_key: str, size_label: str, values: Mapping[str, Any]
    ) -> None:
        """A size's subitem, created or found on monday: inserted, or updated; active."""
        keys = {"board_id": self.board_id, "order_key": order_key, "size_label": size_label}
        upsert(connection, self.subitems, keys, {**values, "state": MirrorState.ACTIVE})

    def update_subitem(
        self, connection: sa.Connection, order_key: str, size_label: str, **values: Any
    ) -> None:
        """Set ``values`` on one size's subitem row."""
        subitems = self.subitems
        connection.execute(
            subitems.update()
            .where(
                subitems.c.board_id == self.board_id,
                subitems.c.order_key == order_key,
                subitems.c.size_label == size_label,
            )
            .values(**values)
        )

    def archive_lines(
        self, connection: sa.Connection, order_keys: Iterable[str], **values: Any
    ) -> None:
        """These lines' items and all their subitems archived (with ``values`` set)."""
        keys = sorted(set(order_keys))
        for table in (self.items, self.subitems):
            for chunk in parameter_chunks(connection, keys):
                connection.execute(
                    table.update()
                    .where(table.c.board_id == self.board_id, table.c.order_key.in_(chunk))
                    .values(state=MirrorState.ARCHIVED, **values)
                )

    def archive_row(
        self,
        connection: sa.Connection,
        order_key: str,
        size_label: str | None = None,
        **values: Any,
    ) -> None:
        """A line's item and all its subitems archived, or with ``size_label`` that size's
        subitem only (with ``values`` set)."""
        if size_label is None:
            self.archive_lines(connection, [order_key], **values)
        else:
            self.update_subitem(
                connection, order_key, size_label, state=MirrorState.ARCHIVED, **values
            )

    # ------------------------------------------------------------------ by monday id
    def archive_subitems(self, connection: sa.Connection, monday_ids: Iterable[int]) -> None:
        """These subitems archived (their lines' hashes are the caller's to forget)."""
        self._update_by_id(connection, monday_ids, subitems=True, state=MirrorState.ARCHIVED)

    def restore(
        self, connection: sa.Connection, monday_ids: Iterable[int], *, subitems: bool
    ) -> list[sa.Row]:
        """Archived rows of these monday ids active again; returns them (as they were)."""
        table, id_column = self.table(subitems=subitems)
        restored: list[sa.Row] = []
        for ids in parameter_chunks(connection, sorted(set(monday_ids))):
            archived = sa.and_(
                table.c.board_id == self.board_id,
                id_column.in_(ids),
                table.c.state == MirrorState.ARCHIVED,
            )
            restored.extend(connection.execute(sa.select(table).where(archived)).all())
            connection.execute(table.update().where(archived).values(state=MirrorState.ACTIVE))
        return restored

    def stamp_pulled(
        self, connection: sa.Connection, monday_ids: Iterable[int], now: Any, *, subitems: bool
    ) -> None:
        """These rows were read from monday at ``now`` (``pulled_at``)."""
        self._update_by_id(connection, monday_ids, subitems=subitems, pulled_at=now)

    def snapshot_values(
        self, connection: sa.Connection, snapshots: Mapping[int, str], *, subitems: bool
    ) -> None:
        """Each row's ``monday_values``: monday id → JSON ``{column id: text}`` of the values
        people own on monday."""
        self._update_each(connection, "monday_values", snapshots, subitems=subitems)

    def forget_drifted_items(
        self, connection: sa.Connection, column_values: Mapping[int, str]
    ) -> None:
        """Items edited by hand on monday: monday item id → the pushed values still true
        (JSON); their hashes cleared, so the next plan re-sends what is missing."""
        self._update_each(connection, "column_values", column_values, subitems=False, row_hash=None)

    def forget_drifted_subitems(self, connection: sa.Connection, monday_ids: Iterable[int]) -> None:
        """Subitems whose quantity was edited by hand: quantity and hash forgotten (their
        lines' hashes are the caller's to forget)."""
        self._update_by_id(connection, monday_ids, subitems=True, qty=None, row_hash=None)

    def _update_by_id(
        self, connection: sa.Connection, monday_ids: Iterable[int], *, subitems: bool, **values: Any
    ) -> None:
        table, id_column = self.table(subitems=subitems)
        for ids in parameter_chunks(connection, sorted(set(monday_ids))):
            connection.execute(
                table.update()
                .where(table.c.board_id == self.board_id, id_column.in_(ids))
                .values(**values)
            )

    def _update_each(
        self,
        connection: sa.Connection,
        column: str,
        by_id: Mapping[int, str],
        *,
        subitems: bool,
        **values: Any,
    ) -> None:
        """``column`` set per row from ``by_id`` (one executemany), and ``values`` on all."""
        if not by_id:
            return
        table, id_column = self.table(subitems=subitems)
        statement = (
            table.update()
            .where(table.c.board_id == self.board_id, id_column == sa.bindparam("m_id"))
            .values({column: sa.bindparam("m_value"), **values})
        )
        connection.execute(statement, [{"m_id": i, "m_value": v} for i, v in by_id.items()])
