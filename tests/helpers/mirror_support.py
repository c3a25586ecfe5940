"""Helpers for the unit tests of the mirror and what writes it (``test_mirror``,
``test_recorder``, ``test_missing``): ordersync's tables without the demo source, and mirror
rows written directly, so each test states the rows it starts from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersync.db import Database
from ordersync.states import MirrorState

BOARD = 4755559751
OTHER_BOARD = 1111
NOW = datetime(2026, 12, 1, 12, 0)


def tables_only(url: str) -> Database:
    """ordersync's tables in the database at ``url`` (as declared: the migrations are tested
    elsewhere, and this is faster); no source table."""
    database = Database.connect(url)
    database.tables.metadata.create_all(database.engine)
    return database


def add_item(db: Database, order_key: str, monday_id: int, **values: Any) -> None:
    """A mirror item of ``BOARD`` (active, hash ``h-<key>``) unless ``values`` say otherwise."""
    row = {
        "board_id": BOARD,
        "order_key": order_key,
        "monday_item_id": monday_id,
        "row_hash": f"h-{order_key}",
        "state": MirrorState.ACTIVE,
        "synced_at": NOW,
        **values,
    }
    with db.engine.begin() as connection:
        connection.execute(db.tables.items.insert().values(**row))


def add_subitem(
    db: Database, order_key: str, size: str, monday_id: int, parent_id: int, **values: Any
) -> None:
    """A mirror subitem of ``BOARD`` (active, quantity 5, hash ``h-<key>-<size>``)."""
    row = {
        "board_id": BOARD,
        "order_key": order_key,
        "size_label": size,
        "monday_subitem_id": monday_id,
        "monday_parent_item_id": parent_id,
        "qty": 5,
        "row_hash": f"h-{order_key}-{size}",
        "state": MirrorState.ACTIVE,
        "synced_at": NOW,
        **values,
    }
    with db.engine.begin() as connection:
        connection.execute(db.tables.subitems.insert().values(**row))


def mirror(db: Database, table: sa.Table, **where: Any) -> dict[Any, sa.Row]:
    """Mirror rows of ``table`` matching ``where``: by order key (items) or (key, size)."""
    condition = sa.and_(sa.true(), *(table.c[name] == value for name, value in where.items()))
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(table).where(condition)).all()
    if "size_label" in table.c:
        return {(row.order_key, row.size_label): row for row in rows}
    return {row.order_key: row for row in rows}
