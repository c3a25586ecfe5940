"""Reading an import job's rows back: which of its items and subitems the board holds, and
their ids (monday returns none: FACTS.md "Bulk import").

One query per 100 keys (``items_page_by_column_values`` on the first key column, with the
page ``limit`` the number of keys asked, so monday's estimate is not that of a 500-item page)
selects only what identifying and adopting needs (``documents.READ_BACK_FIELDS``): each item's
id, state and key columns, and each subitem's id, name, state and size. Column values are not
read: the job made these items from our own file, so they hold what the staged rows hold (a row
the job could not write as it is comes back in its report, or not at all, and is an ERR row).
Items are matched by key and subitems by parent and size exactly as before a create
(``lookup.items_by_key``, ``lookup.subitems_by_size``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ordersync.chunking import chunked
from ordersync.config import SyncConfig
from ordersync.monday import Item, MondayClient, documents
from ordersync.monday.reads import MAX_PAGE_SIZE, parse_item
from ordersync.push.lookup import first_key_part, items_by_key, key_column_ids, subitems_by_size

KEYS_PER_REQUEST = 100
"""First-key values per query, as every lookup by column value (``monday.reads``)."""


def read_back(
    client: MondayClient, board_id: int, config: SyncConfig, order_keys: Iterable[str]
) -> dict[str, Item]:
    """Order key → the oldest active item carrying it, with its subitems (id, name, size).

    Args:
        client: the client (each page paced and retried by it).
        board_id: the job's board.
        config: the mapping (key columns, the subitems' size column).
        order_keys: the keys of the job's item rows.
    """
    keys = set(order_keys)
    if not keys:
        return {}
    parts = sorted({first_key_part(key, config) for key in keys})
    items: list[Item] = []
    for chunk in chunked(parts, KEYS_PER_REQUEST):
        items.extend(_matching(client, board_id, config, list(chunk)))
    return items_by_key(items, config, keys)


def subitem_ids(items: Iterable[Item], size_column_id: str) -> dict[tuple[int, str], int]:
    """(parent item id, size) → subitem id, over the subitems read back with ``items``."""
    found: dict[tuple[int, str], int] = {}
    for item in items:
        found.update(subitems_by_size(item, size_column_id))
    return found


def _matching(
    client: MondayClient, board_id: int, config: SyncConfig, values: list[str]
) -> Iterator[Item]:
    """The items whose first key column holds one of ``values``, page by page."""
    column_ids = key_column_ids(config)
    selection: dict[str, Any] = {
        "limit": min(MAX_PAGE_SIZE, len(values)),
        "columnIds": column_ids,
        "subitemColumnIds": [config.subitems.size_column_id],
    }
    data = client.execute(
        documents.read_back_document(),
        {
            "boardId": str(board_id),
            "columns": [{"column_id": column_ids[0], "column_values": values}],
            **selection,
        },
        operation_name="ReadBack",
    )
    page = data.get("items_page_by_column_values")
    while page:
        yield from (parse_item(raw) for raw in page.get("items") or [] if raw)
        cursor = page.get("cursor")
        if not cursor:
            return
        data = client.execute(
            documents.next_read_back_document(),
            {"cursor": cursor, **selection},
            operation_name="NextReadBack",
        )
        page = data.get("next_items_page")
