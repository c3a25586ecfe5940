"""Benchmark: `ordersync pull` of a large board (10,000 items, 60,000 subitems by default).

Three processes, so that what is measured is ordersync alone: this one seeds the database's
mirror (bulk inserts), a child serves the emulator over HTTP with the board seeded directly in
its store (the state-file format, ``Store.load_dict``), and another child runs ``pull_board``
twice against it and reports its own wall time, CPU time and peak RSS (``ru_maxrss``; the
mirror is not built in that process). The emulator keeps monday's 5,000,000-point cap per
query but gets a budget per minute large enough that the client never waits for a reset; the
complexity used is printed, with the minutes of a Pro account's budget (10,000,000 a minute)
it would take. Every item carries a few database-owned values equal to what the mirror says was
pushed (no drift), and every third item and subitem carries monday-owned values (FCST QTY; Cut
Qty and ORDER LINE STATUS): the first pull records them all, the second finds nothing changed.
Prints figures; asserts nothing.

    .venv/bin/python bench/pull_board.py [--items 10000 --sizes 6 --small 2000]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from ordersync.config import PullConfig, SyncConfig, load_builtin_config
from ordersync.db import Database, utcnow
from ordersync.db.migrate import upgrade
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator, Limits
from ordersync.monday import MondayClient
from ordersync.pull.pull import pull_board

PRO_BUDGET_PER_MINUTE = 10_000_000
FIRST_ID = 9_100_000_001
SIZES = ("XS", "S", "M", "L", "XL", "XXL", "2XL", "3XL")
OWNED_SHARE = 3  # every third item and subitem has monday-owned values
CHANGED_AT = "2026-11-29T00:00:00Z"


# ---------------------------------------------------------------------------- seeding
def board_state(emulator: Emulator, items: int, sizes: int) -> dict[str, Any]:
    """The emulator's state file for a board of ``items`` items with ``sizes`` subitems each."""
    state = emulator.store.to_dict()
    sub_board = next(b for b in state["boards"] if b["id"] == str(CMS_SUBITEMS_BOARD_ID))
    size_column = next(c for c in sub_board["columns"] if c["id"] == "dropdown_mkrak7qp")
    size_column["settings"]["labels"] = [{"id": n, "name": s} for n, s in enumerate(SIZES, 1)]
    rows: list[dict[str, Any]] = []
    next_id = FIRST_ID
    for n in range(items):
        item_id, next_id = next_id, next_id + 1
        subitem_ids = list(range(next_id, next_id + sizes))
        next_id += sizes
        rows.append(_item(n, item_id, subitem_ids))
        rows.extend(_subitem(n, s, sub_id, item_id) for s, sub_id in enumerate(subitem_ids))
    state.update(items=rows, next_item_id=next_id)
    return state


def _item(n: int, item_id: int, subitem_ids: list[int]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "text_mkr5wya6": f"BENCH-{n:06d}",
        "text_mkr5ej2x": "4755",
        "numeric_mkr5cact": f"{10 + n % 90}.5",
        "color_mkr5yf27": {"index": 0, "post_id": None, "changed_at": CHANGED_AT},
        "dropdown_mkr518fc": {"ids": [1], "changed_at": CHANGED_AT},
        "date_mkr57811": {"date": "2026-05-01", "time": None, "icon": None},
        "long_text_mkr5p0cf": {"text": f"style {n}", "changed_at": CHANGED_AT},
    }
    if n % OWNED_SHARE == 0:
        values["numeric_mkrb56rj"] = str(100 + n % 50)
    return _row(item_id, CMS_BOARD_ID, f"BENCH LINE {n}", values, None, subitem_ids)


def _subitem(n: int, s: int, subitem_id: int, parent_id: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "dropdown_mkrak7qp": {"ids": [s + 1], "changed_at": CHANGED_AT},
        "numeric_mkra7j8e": str(10 + s),
    }
    if (n + s) % OWNED_SHARE == 0:
        values["numeric_mkrbgdat"] = str(5 + s)
        values["color_mkrbezbh"] = {"index": 1, "post_id": None, "changed_at": CHANGED_AT}
    return _row(subitem_id, CMS_SUBITEMS_BOARD_ID, SIZES[s], values, parent_id, [])


def _row(
    item_id: int,
    board_id: int,
    name: str,
    values: dict[str, Any],
    parent_id: int | None,
    subitem_ids: list[int],
) -> dict[str, Any]:
    return {
        "id": str(item_id),
        "board_id": str(board_id),
        "group_id": "topics",
        "name": name,
        "created_at": 1_767_225_600.0,
        "updated_at": 1_767_225_600.0,
        "values": values,
        "state": "active",
        "parent_id": None if parent_id is None else str(parent_id),
        "subitem_ids": [str(i) for i in subitem_ids],
    }


def fill_mirror(db: Database, items: int, sizes: int) -> None:
    """Mirror rows saying exactly what the seeded board holds was pushed (no drift)."""
    now = utcnow()
    item_rows, subitem_rows = [], []
    next_id = FIRST_ID
    for n in range(items):
        item_id, next_id = next_id, next_id + 1 + sizes
        key = f"BENCH-{n:06d}"
        pushed = {
            "text_mkr5wya6": key,
            "text_mkr5ej2x": "4755",
            "numeric_mkr5cact": f"{10 + n % 90}.5",
            "color_mkr5yf27": {"label": "EACH"},
            "dropdown_mkr518fc": {"labels": ["RECEIVED"]},
            "date_mkr57811": {"date": "2026-05-01"},
            "long_text_mkr5p0cf": {"text": f"style {n}"},
        }
        item_rows.append(
            {
                "board_id": CMS_BOARD_ID,
                "order_key": key,
                "monday_item_id": item_id,
                "item_name": f"BENCH LINE {n}",
                "column_values": json.dumps(pushed),
                "row_hash": "0" * 64,
                "customer": "GREYSON",
                "po_number": "4755",
                "state": "active",
                "synced_at": now,
            }
        )
        for s in range(sizes):
            subitem_rows.append(
                {
                    "board_id": CMS_BOARD_ID,
                    "order_key": key,
                    "size_label": SIZES[s],
                    "monday_subitem_id": item_id + 1 + s,
                    "monday_parent_item_id": item_id,
                    "qty": 10 + s,
                    "row_hash": "0" * 64,
                    "state": "active",
                    "synced_at": now,
                }
            )
    with db.engine.begin() as connection:
        for table, rows in ((db.tables.items, item_rows), (db.tables.subitems, subitem_rows)):
            for start in range(0, len(rows), 5_000):
                connection.execute(table.insert(), rows[start : start + 5_000])


# ---------------------------------------------------------------------------- children
def serve_board(items: int, sizes: int) -> None:
    """Child: serve the seeded board until stdin closes; prints the API URL first."""
    emulator = Emulator(seed=True, limits=Limits(complexity_budget=2_000_000_000))
    emulator.store.load_dict(board_state(emulator, items, sizes))
    with emulator.serve() as server:
        print(json.dumps({"url": server.url}), flush=True)
        sys.stdin.read()


def pull_twice(api_url: str, database_url: str, paging: str) -> None:
    """Child: two pulls; prints their figures and this process's peak RSS."""
    db = Database.connect(database_url)
    config: SyncConfig = load_builtin_config()
    config = config.model_copy(update={"pull": PullConfig(subitems=paging)})  # type: ignore[arg-type]
    base = api_url.removesuffix("/v2")
    figures: dict[str, Any] = {}
    with MondayClient(api_url, "bench", timeout=600) as client:
        for run in ("first", "second"):
            httpx.post(f"{base}/emulator/reset-stats", timeout=30)
            cpu = _cpu_seconds()
            started = time.perf_counter()
            report = pull_board(db, config, client)
            seconds = time.perf_counter() - started
            stats = httpx.get(f"{base}/emulator/stats", timeout=30).json()
            figures[run] = {
                "paging": report.paging,
                "requests": report.requests,
                "pages": report.pages,
                "read": report.items_read + report.subitems_read,
                "values_changed": report.values_changed,
                "drifted": report.drifted,
                "missing": len(report.missing_items) + len(report.missing_subitems),
                "complexity": stats["complexity_used"],
                "seconds": round(seconds, 1),
                "cpu_seconds": round(_cpu_seconds() - cpu, 1),
            }
    figures["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    db.engine.dispose()
    print(json.dumps(figures))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------- driver
def measure(database_url: str, items: int, sizes: int, paging: str) -> dict[str, Any]:
    db = Database.connect(database_url)
    upgrade(db.engine)
    fill_mirror(db, items, sizes)
    db.engine.dispose()
    me = [sys.executable, __file__]
    server = subprocess.Popen(
        [*me, "--serve", "--items", str(items), "--sizes", str(sizes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        api_url = json.loads(server.stdout.readline())["url"]
        done = subprocess.run(
            [*me, "--pull", "--api-url", api_url, "--db-url", database_url, "--paging", paging],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the pull failed:\n{done.stderr}")
    finally:
        server.communicate(input="", timeout=60)  # closing stdin stops it
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def databases(tmp: str, pg_url: str | None) -> tuple[dict[str, Any], Any]:
    """A fresh database URL per name, and a cleanup."""
    targets: dict[str, Any] = {"sqlite": lambda: f"sqlite:///{Path(tmp) / uuid.uuid4().hex}.db"}
    schemas: list[str] = []
    admin = sa.create_engine(pg_url) if pg_url else None

    def fresh_schema() -> str:
        assert admin is not None
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{pg_url}?options=-csearch_path%3D{schema}"

    if admin is not None:
        targets["postgresql"] = fresh_schema

    def cleanup() -> None:
        for schema in schemas:
            assert admin is not None
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

    return targets, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--sizes", type=int, default=6, help="subitems per item (at most 8)")
    parser.add_argument("--small", type=int, default=2_000, help="items of the smaller board")
    parser.add_argument("--pg-url", help="also measure on this PostgreSQL database")
    parser.add_argument("--separate", action="store_true", help="also page subitems separately")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pull", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--paging", default="nested", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_board(args.items, args.sizes)
        return
    if args.pull:
        pull_twice(args.api_url, args.db_url, args.paging)
        return
    print(f"# pull of an {args.items:,}-item board, {args.sizes} subitems an item")
    print(
        f"# {platform.node()} {platform.machine()} {platform.python_version()} "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(
        "database     items subitems paging   run    requests pages   read changed "
        "  complexity pro_min seconds cpu_s rss_MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        targets, cleanup = databases(tmp, args.pg_url)
        runs = [("sqlite", args.small, "nested")]
        runs += [(name, args.items, "nested") for name in targets]
        if args.separate:
            runs += [("sqlite", args.items, "separate")]
        try:
            for name, items, paging in runs:
                figures = measure(targets[name](), items, args.sizes, paging)
                for run in ("first", "second"):
                    f = figures[run]
                    print(
                        f"{name:<11} {items:>6} {items * args.sizes:>8} {f['paging']:<8} "
                        f"{run:<6} {f['requests']:>8} {f['pages']:>5} {f['read']:>6} "
                        f"{f['values_changed']:>7} {f['complexity']:>12,} "
                        f"{f['complexity'] / PRO_BUDGET_PER_MINUTE:>7.1f} {f['seconds']:>7} "
                        f"{f['cpu_seconds']:>5} {figures['rss_mb']:>6}",
                        flush=True,
                    )
        finally:
            cleanup()
    print(
        "reproduce: .venv/bin/python bench/pull_board.py --items 10000 --sizes 6 --separate "
        "--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


if __name__ == "__main__":
    main()
