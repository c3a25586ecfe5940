"""Bulk import: large item creates delivered through monday's import jobs, exactly once.

``files`` decides which staged lines an import file can carry, packs them into jobs and writes
the CSV; ``jobs`` is the bulk journal (each job written down before its upload); ``delivery``
runs a job's steps and settles jobs a crash left open; ``readback`` finds a job's items and
subitems on the board (ids by key, and by parent and size); ``report`` reads a job's per-row
report for the reasons of rows it did not create.
"""

from ordersync.push.bulk.delivery import BulkDelivery, wants_bulk

__all__ = ["BulkDelivery", "wants_bulk"]
