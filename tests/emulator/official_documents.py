"""The documents monday's two official clients send, for the conformance list.

``NPM_DOCUMENTS``: the operations of ``@mondaydotcomorg/api`` 14.0.0 (``client.operations.*``),
as published in the package's ``dist/esm/index.js`` (generated from monday's
``mondaycom/monday-graphql-api`` repository, ``packages/api/lib/generated/sdk.ts``), with the
variables a caller passes. ``sdk_documents``: the documents ``monday-api-python-sdk`` (a dev
dependency) builds with its own ``query_templates``, for real ids.
"""

from __future__ import annotations

import json
from typing import Any

NPM_DOCUMENTS: dict[str, str] = {
    "getMeOp": """
  query getMeOp {
    me {
      ...UserFields
    }
  }
  fragment UserFields on User {
    id
    name
    email
  }
""",
    "changeSimpleColumnValueOp": """
  mutation changeSimpleColumnValueOp($boardId: ID!, $itemId: ID!, $columnId: String!, $value: String!) {
    change_simple_column_value(board_id: $boardId, item_id: $itemId, column_id: $columnId, value: $value) {
      id
    }
  }
""",
    "changeColumnValueOp": """
  mutation changeColumnValueOp($boardId: ID!, $itemId: ID!, $columnId: String!, $value: JSON!) {
    change_column_value(board_id: $boardId, item_id: $itemId, column_id: $columnId, value: $value) {
      id
    }
  }
""",
    "createItemOp": """
  mutation createItemOp($boardId: ID!, $groupId: String!, $itemName: String!) {
    create_item(board_id: $boardId, group_id: $groupId, item_name: $itemName) {
      id
      name
    }
  }
""",
    "changeMultipleColumnValuesOp": """
  mutation changeMultipleColumnValuesOp($boardId: ID!, $itemId: ID!, $columnValues: JSON!) {
    change_multiple_column_values(board_id: $boardId, item_id: $itemId, column_values: $columnValues) {
      id
      name
      column_values {
        id
        value
      }
    }
  }
""",
    "getBoardItemsOp": """
  query getBoardItemsOp($ids: [ID!]!) {
    boards(ids: $ids) {
      items_page {
        items {
          id
          name
          column_values {
            id
            type
            value
          }
        }
      }
    }
  }
""",
    "getBoardGroupsOp": """
  query getBoardGroupsOp($ids: [ID!]!) {
    boards(ids: $ids) {
      groups {
        id
        title
      }
    }
  }
""",
}


def npm_variables(name: str, board_id: str, item_id: str) -> dict[str, Any]:
    """The variables a caller passes to the npm client's operation ``name``."""
    common = {"boardId": board_id, "itemId": item_id}
    return {
        "getMeOp": {},
        "changeSimpleColumnValueOp": {**common, "columnId": "text_mkr5wya6", "value": "JOO-1"},
        "changeColumnValueOp": {
            **common,
            "columnId": "color_mkr5yf27",
            "value": json.dumps({"label": "PACK"}),
        },
        "createItemOp": {"boardId": board_id, "groupId": "topics", "itemName": "npm item"},
        "changeMultipleColumnValuesOp": {
            **common,
            "columnValues": json.dumps({"numeric_mkr5cact": "7"}),
        },
        "getBoardItemsOp": {"ids": [board_id]},
        "getBoardGroupsOp": {"ids": [board_id]},
    }[name]


def sdk_documents(board_id: str, item_id: str, subitem_parent: str, cursor: str) -> dict[str, str]:
    """Every item, board, group and column document ``monday-api-python-sdk`` builds."""
    from monday_sdk import query_templates as q

    item_ids = f"[{item_id}, {subitem_parent}]"
    return {
        "boards first page (default)": q.get_board_items_first_page_query(board_id, limit=500),
        "boards next page": q.get_board_items_pagination_query(cursor, limit=500),
        "create_item": q.create_item_query(board_id, "topics", "sdk item", {}, False),
        "create_subitem": q.create_subitem_query(subitem_parent, "XS", {}, False),
        "items_page_by_column_values": q.get_item_query(board_id, "text_mkr5wya6", "x", 25),
        "items by ids": q.get_item_by_id_query(item_ids, limit=2),
        "change_column_value": q.change_column_value_query(
            board_id, item_id, "color_mkr5yf27", {"label": "EACH"}
        ),
        "change_simple_column_value": q.change_simple_column_value_query(
            board_id, item_id, "text_mkr5wya6", "JOO-9"
        ),
        "change_multiple_column_values": q.update_multiple_column_values_query(
            board_id, item_id, {"numeric_mkr5cact": "3"}
        ),
        "move_item_to_group": q.move_item_to_group_query(item_id, "topics"),
        "columns by board": q.get_columns_by_board_query(board_id),
        "boards": q.get_boards_query(ids=[int(board_id)], limit=50),
        "board by id": q.get_board_by_id_query(board_id),
        "items by group": q.get_items_by_group_query(board_id, "topics", limit=25),
        "complexity": q.get_complexity_query(),
        "archive_item": q.archive_item_query(item_id),
        "delete_item": q.delete_item_query(item_id),
    }
