"""``ordersync demo``: the whole pipeline on an embedded SQLite file and an in-process emulator.

No account, no network, no setup: it creates the tables, fills a sample ``ORDERS_UNIFIED``,
syncs GREYSON PO 4755 (69 order lines → 69 items and 264 subitems; a first load, so through
monday's bulk import as ``sync --bulk always`` would), reads the board back,
syncs again to show that nothing is sent twice, and syncs a PO with bad rows to show how they
are recorded.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ordersync.config import load_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import BAD_ROWS_PO, create_source_table, fill_demo_orders
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.bulk.jobs import jobs_of_batch
from ordersync.push.source import Scope
from ordersync.sync import SyncOutcome, run_sync


def _heading(console: Console, title: str) -> None:
    """A rule across a terminal; a short plain heading in a file or pipe (never 1,000 wide)."""
    if console.is_terminal:
        console.rule(Text(title, style="bold"))
    else:
        console.print(Text(f"── {title} ──", style="bold"))


def run_demo(console: Console, workdir: Path | None = None) -> list[SyncOutcome]:
    """Run the scripted demo, printing as it goes; returns the outcome of each sync."""
    config = load_config()
    with tempfile.TemporaryDirectory(prefix="ordersync-demo-") as tmp:
        path = (workdir or Path(tmp)) / "ordersync-demo.db"
        path.unlink(missing_ok=True)  # a kept database of an earlier demo: start afresh
        db = Database.connect(f"sqlite:///{path}", config.tables)
        _heading(console, "ordersync demo")
        console.print(f"database: {path} (SQLite); monday: in-process emulator")
        upgrade(db.engine, config.tables)
        table = create_source_table(db.engine, config.source.table, replace=True)  # demo rows only
        summary = fill_demo_orders(db.engine, table)
        console.print(
            f"ORDERS_UNIFIED: {summary.rows} order lines; GREYSON PO 4755: "
            f"{summary.greyson_po_4755_lines} lines with {summary.greyson_po_4755_sizes} sizes"
        )
        emulator = Emulator(seed=True)
        outcomes = []
        transport = emulator.transport()
        with MondayClient("http://emulator.local/v2", "demo", transport=transport) as client:
            steps = [
                ("sync GREYSON PO 4755 (a first load: bulk import)", Scope("GREYSON", "4755")),
                ("sync again (nothing changed)", Scope("GREYSON CLOTHIERS", "4755")),
                (f"sync RHONE PO {BAD_ROWS_PO} (bad rows)", Scope("RHONE", BAD_ROWS_PO)),
            ]
            for step, (title, scope) in enumerate(steps):
                _heading(console, title)
                emulator.reset_stats()
                bulk = config.with_bulk("always") if step == 0 else config  # `--bulk always`
                outcome = run_sync(db, bulk, client, scope)
                outcomes.append(outcome)
                mutations = sum(emulator.stats.mutations.values())
                console.print(
                    Text.assemble(
                        "status ",
                        (outcome.status, "bold"),
                        f" (exit code {outcome.exit_code}); "
                        f"{outcome.requests} requests, {mutations} mutations",
                    )
                )
                if outcome.report:
                    r = outcome.report
                    console.print(
                        f"items created {r.items_created}, subitems created {r.subitems_created}, "
                        f"rows rejected {r.rows_rejected + r.items_failed + r.subitems_failed}"
                    )
                    _print_jobs(console, db, r.batch_id)
            _heading(console, "the board, read back")
            console.print(_board_table(emulator))
            _heading(console, "rejected rows (ERR tables)")
            console.print(_errors_table(db))
        db.engine.dispose()
        if workdir is not None:
            console.print(
                f"see it in the browser: ORDERSYNC_DATABASE_URL=sqlite:///{path} ordersync ui"
            )
    return outcomes


def _print_jobs(console: Console, db: Database, batch_id: str) -> None:
    """The batch's import jobs: what each carried and how it ended."""
    for job in jobs_of_batch(db, batch_id):
        console.print(
            f"import job {job['job_id']} ({job['kind']}): {job['file_rows']} rows in one CSV "
            f"file, {job['job_status']}; the rest by mutation (lines creating labels first)"
        )


def _board_table(emulator: Emulator) -> Table:
    items = emulator.items(CMS_BOARD_ID)
    subitem_counts = Counter(i["parent_id"] for i in emulator.items(CMS_SUBITEMS_BOARD_ID))
    table = Table(title=f"board {CMS_BOARD_ID}: {len(items)} items")
    for name in ("group", "items", "subitems"):
        table.add_column(name)
    groups: Counter[str] = Counter(i["group_title"] for i in items)
    for group, count in sorted(groups.items()):
        subs = sum(subitem_counts[i["id"]] for i in items if i["group_title"] == group)
        table.add_row(group, str(count), str(subs))
    return table


def _errors_table(db: Database) -> Table:
    errors = db.tables.item_errors
    table = Table()
    for name in ("key", "stage", "code", "message"):
        table.add_column(name)
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(errors.c.order_key, errors.c.stage, errors.c.error_code, errors.c.message)
        ).all()
    for row in rows:
        table.add_row(row.order_key or "(none)", row.stage, row.error_code, row.message)
    return table
