"""The monday.com side of ordersync: the API client, its documents and column value formats.

``MondayClient`` is the only thing that talks to monday; ``documents`` builds every GraphQL
document it sends; ``column_values`` converts values to and from monday's JSON formats.
"""

from ordersync.monday import column_values, documents
from ordersync.monday.client import MondayClient
from ordersync.monday.models import (
    AliasResult,
    Board,
    Column,
    ColumnValue,
    Complexity,
    Group,
    Item,
    Mutation,
    RequestStats,
)

__all__ = [
    "AliasResult",
    "Board",
    "Column",
    "ColumnValue",
    "Complexity",
    "Group",
    "Item",
    "MondayClient",
    "Mutation",
    "RequestStats",
    "column_values",
    "documents",
]
