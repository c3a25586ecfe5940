"""An import job's per-row report, read for the reasons of rows a job did not create.

monday's report format is undocumented (FACTS.md "Bulk import"), so nothing depends on it for
correctness: which rows are on the board is decided by reading the board back by key. The
report only lends its words to the ERR rows of rows the board does not hold. It is read as
CSV with a header naming ``row`` (the data record's number in the file, from 1), ``status``
and ``reason`` (the emulator's documented choice, docs/emulator.md); a row whose status is
``invalid`` or ``failed`` gives its reason. A report that cannot be read gives none.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence

from ordersync.errors import MondayError
from ordersync.monday import MondayClient
from ordersync.monday.models import JobStatus

logger = logging.getLogger(__name__)

FAILED_STATUSES = frozenset({"invalid", "failed"})


def report_reasons(
    client: MondayClient, status: JobStatus | None, file_order: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Staged row id → (code, message) for the rows a job's report lists as failed.

    Args:
        client: the client (the report is fetched without the token).
        status: the job's final status (its ``report_url``, if monday made a report).
        file_order: the staged row ids in the file's order (record 1 first).
    """
    if status is None or not status.report_url:
        return {}
    try:
        text = client.download_report(status.report_url)
    except MondayError as error:
        logger.warning("the import job's report could not be read: %s", error)
        return {}
    reasons: dict[str, tuple[str, str]] = {}
    for number, (row_status, reason) in parse_report(text).items():
        if 1 <= number <= len(file_order):
            code = f"IMPORT_ROW_{row_status.upper()}"
            reasons[file_order[number - 1]] = (code, reason or row_status)
    return reasons


def parse_report(text: str) -> dict[int, tuple[str, str]]:
    """Record number → (status, reason) of the failed rows of a CSV report."""
    failed: dict[int, tuple[str, str]] = {}
    try:
        for row in csv.DictReader(io.StringIO(text)):
            status = (row.get("status") or "").strip().lower()
            number = (row.get("row") or "").strip()
            if status in FAILED_STATUSES and number.isdigit():
                failed[int(number)] = (status, (row.get("reason") or "").strip())
    except csv.Error:
        return {}
    return failed
