"""Finding on monday what may already be there: items by key, subitems by parent and size.

Used wherever the answer to a create is not known (a lost answer, a crash between send and
record, an answer with errors but no per-alias data) and before creating items a board may
already hold (made by hand or by an older tool). What is found is adopted, never duplicated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ordersync.config import SyncConfig
from ordersync.monday import Item, MondayClient
from ordersync.push.normalize import clean_text, order_key


def key_column_ids(config: SyncConfig) -> list[str]:
    """The board columns that hold the key columns, in key order."""
    by_source = {column.source: column.column_id for column in config.items.columns}
    return [by_source[name] for name in config.source.key_columns if name in by_source]


def board_key(item: Item, config: SyncConfig) -> str | None:
    """The order key an item carries on the board, or ``None`` if a key column is empty."""
    parts = []
    for column_id in key_column_ids(config):
        value = item.values.get(column_id)
        text = clean_text(value.text if value else None)
        if text is None:
            return None
        parts.append(text)
    return order_key(tuple(parts))


def find_items(
    client: MondayClient, board_id: int, config: SyncConfig, order_keys: Iterable[str]
) -> dict[str, int]:
    """Order key → id of the (oldest) active item on the board carrying it."""
    keys = set(order_keys)
    if not keys:
        return {}
    first_column = key_column_ids(config)[0]
    first_parts = sorted({first_key_part(key, config) for key in keys})
    items = client.items_by_column_values(
        board_id, first_column, first_parts, column_ids=key_column_ids(config)
    )
    return {key: item.id for key, item in items_by_key(items, config, keys).items()}


def items_by_key(items: Iterable[Item], config: SyncConfig, keys: set[str]) -> dict[str, Item]:
    """Order key → the oldest active item among ``items`` carrying it, for ``keys`` only."""
    found: dict[str, Item] = {}
    for item in sorted(items, key=lambda i: i.id):
        key = board_key(item, config)
        if item.state == "active" and key in keys and key not in found:
            found[key] = item
    return found


def find_subitems(
    client: MondayClient, parent_ids: Iterable[int], size_column_id: str
) -> dict[tuple[int, str], int]:
    """(parent item id, size) → id of the (oldest) active subitem with that size."""
    parents = sorted(set(parent_ids))
    if not parents:
        return {}
    found: dict[tuple[int, str], int] = {}
    for parent in client.get_items(
        parents, column_ids=[], with_subitems=True, subitem_column_ids=[size_column_id]
    ):
        found.update(subitems_by_size(parent, size_column_id))
    return found


def subitems_by_size(parent: Item, size_column_id: str) -> dict[tuple[int, str], int]:
    """(parent item id, size) → id of the parent's oldest active subitem with that size (the
    size column's text, else the subitem's name)."""
    found: dict[tuple[int, str], int] = {}
    for subitem in sorted(parent.subitems, key=lambda s: s.id):
        if subitem.state != "active":
            continue
        value = subitem.values.get(size_column_id)
        size = clean_text(value.text if value else None) or subitem.name
        found.setdefault((parent.id, size), subitem.id)
    return found


def first_key_part(key: str, config: SyncConfig) -> str:
    """The value of the first key column in a stored order key."""
    if len(config.source.key_columns) == 1:
        return key
    return str(json.loads(key)[0])
