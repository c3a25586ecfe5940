"""Helpers for pull and serve tests: a synced demo database, and a person editing the board.

The person is a second monday client on the same emulator, sending the GraphQL a person's
edits amount to (``change_multiple_column_values``, ``archive_item``, ``delete_item``,
``create_item``), so ordersync's own client counts none of these requests.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from helpers.support import demo_database  # noqa: F401 - re-exported for the pull and serve tests
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient, documents
from ordersync.push.source import Scope

GREYSON = Scope("GREYSON", "4755")
KEY_COLUMN = "text_mkr5wya6"
PRICE = "numeric_mkr5cact"  # CUSTOMER PRICE: owned by the database
FCST_QTY = "numeric_mkrb56rj"  # FCST QTY: owned by monday (items)
ADD_TO_PLANNING = "color_mkrerxrs"  # status, owned by monday (items)
CUT_QTY = "numeric_mkrbgdat"  # Cut Qty: owned by monday (subitems)
LINE_STATUS = "color_mkrbezbh"  # ORDER LINE STATUS: status, owned by monday (subitems)
ORDER_QTY = "numeric_mkra7j8e"  # Order Qty: owned by the database (subitems)


class Person:
    """Someone editing the board by hand (through monday's API, like monday's own UI)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.client = MondayClient(
            "http://emulator.test/v2", "person-token", transport=emulator.transport()
        )

    def set(self, item_id: int | str, values: dict[str, Any], *, subitem: bool = False) -> None:
        board = CMS_SUBITEMS_BOARD_ID if subitem else CMS_BOARD_ID
        mutation = documents.change_multiple_column_values(
            "a1", board_id=board, item_id=item_id, column_values=values
        )
        self._mutate(mutation)

    def archive(self, item_id: int | str) -> None:
        self._mutate(documents.archive_item("a1", item_id=item_id))

    def delete(self, item_id: int | str) -> None:
        self.client.execute(
            "mutation Delete($id: ID!) { delete_item(item_id: $id) { id } }",
            {"id": str(item_id)},
            operation_name="Delete",
        )

    def create_item(self, name: str, values: dict[str, Any]) -> int:
        mutation = documents.create_item(
            "a1", board_id=CMS_BOARD_ID, item_name=name, column_values=values
        )
        return int(self._mutate(mutation)["id"])

    def _mutate(self, mutation: Any) -> dict[str, Any]:
        result = self.client.mutate([mutation], idempotency_key=str(uuid.uuid4()))["a1"]
        assert result.outcome == "ok", result.error
        return result.data or {}

    def close(self) -> None:
        self.client.close()


def active_items(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """Active items of the board by order key (ids as numbers, as ordersync keeps them)."""
    return {
        i["texts"][KEY_COLUMN]: _numbered(i)
        for i in emulator.items(CMS_BOARD_ID)
        if i["state"] == "active"
    }


def active_subitems(emulator: Emulator) -> list[dict[str, Any]]:
    return [_numbered(s) for s in emulator.items(CMS_SUBITEMS_BOARD_ID) if s["state"] == "active"]


def _numbered(item: dict[str, Any]) -> dict[str, Any]:
    parent = item["parent_id"]
    return {**item, "id": int(item["id"]), "parent_id": None if parent is None else int(parent)}


def rows(db: Database, table: sa.Table, *where: Any) -> list[sa.Row]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(table).where(*where)).all())


def mirror_item(db: Database, order_key: str) -> sa.Row:
    items = db.tables.items
    (row,) = rows(db, items, items.c.order_key == order_key)
    return row


def pushed_columns(db: Database, order_key: str) -> dict[str, Any]:
    return dict(json.loads(mirror_item(db, order_key).column_values))
