"""The value recorder: what monday holds for items and subitems (the values people own there,
and the hand edits of the values ordersync owns: drift). Shared by ``pull`` and ``serve``.

``ValueRecorder.record`` takes a batch of ``monday.Item`` (a page of a pull, or the items a
batch of webhook events names) and writes, on the caller's connection and so inside the
caller's transaction, set-based per batch:

* ``pulled_values``: one row per monday-owned column holding a value (typed: ``number_value``
  for numbers, ``date_value`` for dates, ``text_value`` always: the label for status, the
  labels joined for dropdown); a cleared value's row is deleted;
* the mirror row's ``monday_values`` (a JSON snapshot ``{column id: text}`` of those values)
  and ``pulled_at`` (when monday was last read for it);
* ``value_changes``: one row per value that changed (old and new text, ``source``).

Drift contract (agreed with ``plan``): an item's mirror ``column_values`` holds, per pushed
column, the monday value ordersync last pushed. A pushed column whose board value differs
(both read by ``from_monday``; empty equals absent) is logged in ``value_changes`` with source
``drift``, removed from ``column_values``, and the row's ``row_hash`` is cleared: the next sync
sees the line as modified and re-sends exactly the missing columns. A column pushed empty and
filled by hand instead takes the board's value in ``column_values``, so the next sync's diff
sends ``null`` and clears it. A subitem's pushed values are its Size and Order Qty: a drifted
subitem gets ``qty`` and ``row_hash`` cleared and its parent item's ``row_hash`` cleared, so
the next plan updates its quantity. A drift already waiting for its re-send is not logged
twice.

The mirror rows are read and written through ``mirror.Mirror``. Mirror rows monday no longer
holds (archived or deleted there) are ``missing``'s concern.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ordersync.column_types import (
    NUMBERS,
    QUANTITY_COLUMN_TYPE,
    SIZE_COLUMN_TYPE,
    column_type_named,
)
from ordersync.config import MondayOwnedColumn, SyncConfig
from ordersync.db import Database
from ordersync.db.engine import parameter_chunks
from ordersync.mirror import Mirror
from ordersync.monday import Item
from ordersync.monday.column_values import from_monday
from ordersync.states import Source


@dataclass(frozen=True)
class PulledValue:
    """One column value as the database keeps it; ``text`` is ``None`` when empty."""

    text: str | None
    number: Decimal | None = None
    day: date | None = None


def read_value(column_type: str, value: Any, text: str | None) -> PulledValue:
    """A monday column value (raw ``value`` and ``text``) typed for the database.

    A value that does not read as its type (which monday should never send) keeps its text.
    """
    try:
        python = from_monday(column_type, value, text)
    except ValueError:
        return PulledValue(text.strip() if text and text.strip() else None)
    if python is None:
        return PulledValue(None)
    if isinstance(python, Decimal):
        return PulledValue(NUMBERS.to_monday(python), number=python)
    if isinstance(python, date):
        return PulledValue(python.isoformat(), day=python)
    return PulledValue(str(python))


def pushed_value(column_type: str, pushed: Any) -> PulledValue:
    """A value as ordersync pushed it (monday's write format), read like a board value."""
    raw = None if pushed is None else json.dumps(pushed, ensure_ascii=False)
    return read_value(column_type, raw, None)


@dataclass(frozen=True)
class BoardColumns:
    """The columns of one kind of row: owned by monday (pulled) or by the database (pushed)."""

    owned: Mapping[str, MondayOwnedColumn]
    pushed: Mapping[str, tuple[str, str]]  # column id → (type, title)

    @property
    def ids(self) -> list[str]:
        return sorted({*self.owned, *self.pushed})


def item_columns(config: SyncConfig) -> BoardColumns:
    return BoardColumns(
        owned={c.column_id: c for c in config.items.monday_owned},
        pushed={c.column_id: (c.type, c.title or c.source) for c in config.items.columns},
    )


def subitem_columns(config: SyncConfig) -> BoardColumns:
    sub = config.subitems
    return BoardColumns(
        owned={c.column_id: c for c in sub.monday_owned},
        pushed={
            sub.size_column_id: (SIZE_COLUMN_TYPE.name, "Size"),
            sub.qty_column_id: (QUANTITY_COLUMN_TYPE.name, "Order Qty"),
        },
    )


@dataclass(frozen=True)
class Drift:
    """A database-owned column changed by hand on monday."""

    monday_id: int
    order_key: str
    size_label: str | None
    column_id: str
    title: str
    pushed: str | None
    on_board: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "monday_id": self.monday_id,
            "order_key": self.order_key,
            "size": self.size_label,
            "column_id": self.column_id,
            "title": self.title,
            "pushed": self.pushed,
            "on_board": self.on_board,
        }


@dataclass
class Recorded:
    """What one ``record`` call found."""

    items_read: int = 0
    subitems_read: int = 0
    values_changed: int = 0
    drifts: list[Drift] = field(default_factory=list)
    unknown_items: list[Item] = field(default_factory=list)
    unknown_subitems: list[Item] = field(default_factory=list)


@dataclass
class _Writes:
    """Rows to write for one batch (read at ``now``), flushed with one statement (or
    executemany) per kind."""

    now: datetime
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    stamped: list[int] = field(default_factory=list)
    snapshots: dict[int, str] = field(default_factory=dict)  # monday id → monday_values
    drifted_items: dict[int, str] = field(default_factory=dict)  # → column_values still true
    drifted_subitems: list[int] = field(default_factory=list)
    parents_to_replan: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Kind:
    """Items or subitems, and their columns."""

    columns: BoardColumns
    subitems: bool


class ValueRecorder:
    """Records batches of items read from one board (see the module docstring).

    Args:
        db: ordersync's database.
        config: the mapping (which columns are owned by whom).
        board_id: the items board (the mirror's ``board_id``, for subitems too).
        source: ``pull`` or ``webhook``.
        since: rows whose mirror ``pulled_at`` is at or after this were recorded earlier in
            the same run and are skipped (a pull's checkpoint after a cursor restart).
    """

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        board_id: int,
        source: Source,
        *,
        since: datetime | None = None,
    ) -> None:
        self.db, self.board_id, self.source, self.since = db, board_id, source, since
        self.mirror = Mirror(db.tables, board_id)
        self.kinds = (
            _Kind(item_columns(config), subitems=False),
            _Kind(subitem_columns(config), subitems=True),
        )

    def record(
        self,
        connection: sa.Connection,
        items: Sequence[Item],
        now: datetime,
        event_keys: Mapping[int, str] | None = None,
    ) -> Recorded:
        """Record ``items`` (items and subitems mixed; a subitem has ``parent_id``).

        Args:
            connection: the caller's connection, inside its transaction.
            items: what monday holds now, with the values of ``column_ids`` at least.
            now: the time written as ``changed_at``/``pulled_at``/``recorded_at``.
            event_keys: monday id → the webhook event that led here (kept in the log).
        """
        recorded = Recorded()
        for kind in self.kinds:
            batch = [item for item in items if (item.parent_id is not None) == kind.subitems]
            if batch:
                self._record_kind(connection, kind, batch, now, event_keys or {}, recorded)
        return recorded

    def _record_kind(
        self,
        connection: sa.Connection,
        kind: _Kind,
        batch: list[Item],
        now: datetime,
        event_keys: Mapping[int, str],
        recorded: Recorded,
    ) -> None:
        rows = self.mirror.active_rows(connection, (i.id for i in batch), subitems=kind.subitems)
        writes = _Writes(now)
        unknown = recorded.unknown_subitems if kind.subitems else recorded.unknown_items
        for item in batch:
            row = rows.get(item.id)
            if row is None:
                unknown.append(item)
                continue
            if self.since is not None and row.pulled_at is not None and row.pulled_at >= self.since:
                continue  # recorded earlier in this run (before a cursor restart)
            event_key = event_keys.get(item.id)
            self._owned(kind, item, row, writes, event_key)
            recorded.drifts.extend(self._drift(kind, item, row, writes, event_key))
            writes.stamped.append(item.id)
        recorded.values_changed += sum(
            1 for c in writes.changes if c["source"] != Source.DRIFT.value
        )
        if kind.subitems:
            recorded.subitems_read += len(writes.stamped)
        else:
            recorded.items_read += len(writes.stamped)
        self._flush(connection, kind, writes)

    # ------------------------------------------------------------------ monday-owned values
    def _owned(
        self, kind: _Kind, item: Item, row: sa.Row, writes: _Writes, event_key: str | None
    ) -> None:
        """Compare the owned values with the row's snapshot; queue the differences."""
        old: dict[str, str] = json.loads(row.monday_values or "{}")
        new = dict(old)
        for column_id, column in kind.columns.owned.items():
            cell = item.values.get(column_id)
            if cell is None:
                continue  # not read: keep what is known
            value = read_value(column.type, cell.value, cell.text)
            if value.text == old.get(column_id):
                continue
            if value.text is None:
                new.pop(column_id, None)
            else:
                new[column_id] = value.text
            self._queue_value(row, item.id, column, value, old.get(column_id), writes)
            writes.changes.append(
                self._change(row, item.id, column_id, old.get(column_id), value.text, writes.now)
                | {"source": str(self.source), "event_key": event_key}
            )
        if new != old:
            writes.snapshots[item.id] = json.dumps(new, sort_keys=True, ensure_ascii=False)

    def _queue_value(
        self,
        row: sa.Row,
        monday_id: int,
        column: MondayOwnedColumn,
        value: PulledValue,
        old_text: str | None,
        writes: _Writes,
    ) -> None:
        key = {"p_board": self.board_id, "p_id": monday_id, "p_column": column.column_id}
        if value.text is None:
            writes.deletes.append(key)
            return
        values = {
            "text_value": value.text,
            "number_value": value.number,
            "date_value": value.day,
            "source": str(self.source),
            "changed_at": writes.now,
            "pulled_at": writes.now,
        }
        if old_text is None:
            writes.inserts.append(
                {
                    "board_id": self.board_id,
                    "monday_id": monday_id,
                    "column_id": column.column_id,
                    "order_key": row.order_key,
                    "size_label": getattr(row, "size_label", None),
                    "title": column.title,
                    **values,
                }
            )
        else:
            writes.updates.append({**key, **{f"v_{k}": v for k, v in values.items()}})

    def _change(
        self,
        row: sa.Row,
        monday_id: int,
        column_id: str,
        old_text: str | None,
        new_text: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "monday_id": monday_id,
            "column_id": column_id,
            "order_key": row.order_key,
            "size_label": getattr(row, "size_label", None),
            "old_text": old_text,
            "new_text": new_text,
            "recorded_at": now,
        }

    # ------------------------------------------------------------------ drift
    def _drift(
        self, kind: _Kind, item: Item, row: sa.Row, writes: _Writes, event_key: str | None
    ) -> list[Drift]:
        """Pushed columns whose board value is not what ordersync pushed: logged, and the
        mirror queued to forget them."""
        pushed = pushed_values(kind.columns, row, subitems=kind.subitems)
        if pushed is None:
            return []  # nothing known about what was pushed
        found = drifted_columns(kind.columns, item, row, pushed, subitems=kind.subitems)
        for column_id, expected, actual in found:
            writes.changes.append(
                self._change(row, item.id, column_id, expected.text, actual.text, writes.now)
                | {"source": str(Source.DRIFT), "event_key": event_key}
            )
        if found:
            self._queue_resend(kind, item.id, row, pushed, found, writes)
        size, titles = getattr(row, "size_label", None), kind.columns.pushed
        return [
            Drift(item.id, row.order_key, size, column_id, titles[column_id][1], old.text, new.text)
            for column_id, old, new in found
        ]

    @staticmethod
    def _queue_resend(
        kind: _Kind,
        monday_id: int,
        row: sa.Row,
        pushed: dict[str, Any],
        found: list[tuple[str, PulledValue, PulledValue]],
        writes: _Writes,
    ) -> None:
        """The mirror queued to forget what drifted, so the next sync sends it again: a
        subitem's hash and its line's; an item's drifted columns (``forget_pushed``)."""
        if kind.subitems:
            writes.drifted_subitems.append(monday_id)
            writes.parents_to_replan.add(row.order_key)
            return
        for column_id, expected, actual in found:
            column_type = kind.columns.pushed[column_id][0]
            forget_pushed(pushed, column_id, column_type, expected, actual)
        writes.drifted_items[monday_id] = json.dumps(pushed, ensure_ascii=False)

    # ------------------------------------------------------------------ writing
    def _flush(self, connection: sa.Connection, kind: _Kind, writes: _Writes) -> None:
        pulled, changes = self.db.tables.pulled_values, self.db.tables.value_changes
        key = sa.and_(
            pulled.c.board_id == sa.bindparam("p_board"),
            pulled.c.monday_id == sa.bindparam("p_id"),
            pulled.c.column_id == sa.bindparam("p_column"),
        )
        if writes.inserts:
            connection.execute(pulled.insert(), writes.inserts)
        if writes.updates:
            names = ("text_value", "number_value", "date_value", "source", "changed_at")
            update = (
                pulled.update()
                .where(key)
                .values({name: sa.bindparam(f"v_{name}") for name in (*names, "pulled_at")})
            )
            connection.execute(update, writes.updates)
        if writes.deletes:
            connection.execute(pulled.delete().where(key), writes.deletes)
        if writes.changes:
            connection.execute(changes.insert(), writes.changes)
        for ids in parameter_chunks(connection, writes.stamped):
            connection.execute(
                pulled.update()
                .where(pulled.c.board_id == self.board_id, pulled.c.monday_id.in_(ids))
                .values(pulled_at=writes.now)
            )
        self._update_mirror(connection, kind, writes)

    def _update_mirror(self, connection: sa.Connection, kind: _Kind, writes: _Writes) -> None:
        mirror, subitems = self.mirror, kind.subitems
        mirror.stamp_pulled(connection, writes.stamped, writes.now, subitems=subitems)
        mirror.snapshot_values(connection, writes.snapshots, subitems=subitems)
        mirror.forget_drifted_items(connection, writes.drifted_items)
        mirror.forget_drifted_subitems(connection, writes.drifted_subitems)
        mirror.forget_hashes(connection, writes.parents_to_replan)


def board_write_format(column_type: str, value: PulledValue) -> Any:
    """A board value in monday's write format (what the mirror's ``column_values`` holds)."""
    typed: Any = value.number if value.number is not None else value.day or value.text
    try:
        return column_type_named(column_type).to_monday_from_read(typed)
    except ValueError:
        return value.text


def pushed_values(columns: BoardColumns, row: sa.Row, *, subitems: bool) -> dict[str, Any] | None:
    """What ordersync pushed to an item or subitem, in monday's write format, from its mirror
    row (``None``: not known, for an item without ``column_values``)."""
    if not subitems:
        return None if row.column_values is None else dict(json.loads(row.column_values))
    size_column, qty_column = columns.pushed  # size first, then quantity
    pushed: dict[str, Any] = {size_column: SIZE_COLUMN_TYPE.to_monday(row.size_label)}
    if row.qty is not None:
        pushed[qty_column] = QUANTITY_COLUMN_TYPE.to_monday(row.qty)
    return pushed


def drifted_columns(
    columns: BoardColumns, item: Item, row: sa.Row, pushed: Mapping[str, Any], *, subitems: bool
) -> list[tuple[str, PulledValue, PulledValue]]:
    """``(column id, pushed, on the board)`` of each pushed column the board shows otherwise.

    Both sides are read by ``from_monday`` (empty equals absent); a column not read is left
    out, and so is a drift already waiting for its re-send (the row's hash is cleared and the
    column forgotten; a subitem's hash alone says so).
    """
    found = []
    for column_id, (column_type, _title) in columns.pushed.items():
        cell = item.values.get(column_id)
        if cell is None:
            continue
        expected = pushed_value(column_type, pushed.get(column_id))
        actual = read_value(column_type, cell.value, cell.text)
        if expected.text == actual.text:
            continue
        if row.row_hash is None and (subitems or column_id not in pushed):
            continue  # already reported; waiting for the next sync to re-send it
        found.append((column_id, expected, actual))
    return found


def forget_pushed(
    pushed: dict[str, Any],
    column_id: str,
    column_type: str,
    expected: PulledValue,
    actual: PulledValue,
) -> None:
    """The mirror's pushed values after a drift: the column forgotten, so the next plan sends
    it again; or, pushed empty and filled by hand, the board's value taken, so the next plan's
    diff clears it (sends ``null``)."""
    if expected.text is None:
        pushed[column_id] = board_write_format(column_type, actual)
    else:
        pushed.pop(column_id, None)
