"""An import job's per-row report, read for the reasons of rows a job did not create.

monday's report format is undocumented (FACTS.md "Bulk import"), so nothing depends on it for
correctness: which rows are on the board is decided by reading the board back by key. The
report only lends its words to the ERR rows of rows the board does not hold. It is read as
CSV with a header; a row names the line by the key column (items) and, for subitems,
``name.subitem``; its reason is the first of ``error_code`` / ``reason`` / ``status`` and
``error_message`` / ``message`` / ``error``. A report that cannot be read gives no reasons.
"""

from __future__ import annotations

import csv
import io
import logging

from ordersync.config import SyncConfig
from ordersync.errors import MondayError
from ordersync.lookup import key_column_ids
from ordersync.monday import MondayClient
from ordersync.monday.models import JobStatus
from ordersync.normalize import clean_text, order_key

logger = logging.getLogger(__name__)

CODE_FIELDS = ("error_code", "reason", "code", "status")
MESSAGE_FIELDS = ("error_message", "message", "error", "details")
OK_WORDS = frozenset({"", "ok", "created", "updated", "success", "skipped"})


def report_reasons(
    client: MondayClient, status: JobStatus | None, config: SyncConfig
) -> dict[str, tuple[str, str]]:
    """Line key (items: the order key; subitems: order key ``\\x1f`` size) → (code, message)
    for the rows a job's report lists as failed; ``{}`` without a readable report."""
    if status is None or not status.report_url:
        return {}
    try:
        text = client.download_report(status.report_url)
    except MondayError as error:
        logger.warning("the import job's report could not be read: %s", error)
        return {}
    return parse_report(text, config)


def parse_report(text: str, config: SyncConfig) -> dict[str, tuple[str, str]]:
    """The failed rows of a CSV report (see the module docstring)."""
    reasons: dict[str, tuple[str, str]] = {}
    key_columns = key_column_ids(config)
    size_column = "name.subitem"
    current: str | None = None
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error:
        return {}
    for row in rows:
        parts = [clean_text(row.get(column)) for column in key_columns]
        if all(part is not None for part in parts):
            current = order_key(tuple(str(p) for p in parts))
        code = _first(row, CODE_FIELDS)
        if code is None or code.lower() in OK_WORDS or current is None:
            continue
        message = _first(row, MESSAGE_FIELDS) or code
        size = clean_text(row.get(size_column))
        key = f"{current}\x1f{size}" if size and not row.get("name") else current
        reasons.setdefault(key, (code, message))
    return reasons


def _first(row: dict[str, str | None], fields: tuple[str, ...]) -> str | None:
    for field in fields:
        value = clean_text(row.get(field))
        if value:
            return str(value)
    return None
