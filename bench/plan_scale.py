"""Benchmark: planning at scale (issues 5, 12): 100,000 order lines, 161 size columns.

Fills ``ORDERS_UNIFIED`` (all 268 columns) with N realistic GREYSON order lines, then measures
``plan_batch`` (real staging into the STG tables) for a first sync, simulates the delivery
(the staged batch promoted into the mirror tables with SQL, fake monday ids, batch
BATCH_COMPLETED, the mirror vacuumed and analysed as a delivery does), measures a plan with
nothing changed twice (the first read after a delivery may cost more: ``--no-refresh``),
changes 1 % of the lines (a price on 0.5 %, a size quantity on another 0.5 %) and measures
that re-sync plan. On SQLite (a temp file) and PostgreSQL (a throwaway schema).

Every measurement runs in a fresh subprocess (this script re-invoked with ``--phase``), so
``ru_maxrss`` is that phase's own peak. Every plan is given in wall seconds and in CPU seconds
of the planning process (and of the PostgreSQL server process serving it), per stage too: on
a shared machine wall time measures the load, CPU time the code. The timed runs carry no
tracer (only cheap per-stage clocks); tracemalloc and cProfile run on a separate dry run of
the same plan (the same work, rolled back at the end). Prints figures; asserts nothing.

At 100,000 lines ``--no-tracemalloc --no-profile`` takes about 6 min on a quiet 2-core
machine (18 min at a load average of 10); the tracemalloc dry runs are about 4x slower than
the plan.

    .venv/bin/python bench/plan_scale.py [--lines 100000] [--skip-sqlite] [--skip-postgres] \
        [--no-tracemalloc] [--no-profile] \
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersync.config import load_builtin_config
from ordersync.db import Database, utcnow
from ordersync.db.engine import insert_rows
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table, size_columns
from ordersync.push import plan as plan_module
from ordersync.push.deliver import refresh_mirror
from ordersync.push.lines import LineBuilder
from ordersync.push.source import Scope
from ordersync.states import Action, BatchStatus, MirrorState, RowStatus

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED = 5
INSERT_CHUNK = 2_000
SCOPE = Scope("GREYSON")
KEY = "AAG ORDER NUMBER"
PRICE = "CUSTOMER PRICE"
NEW_PRICE = "77.25"  # generated prices are whole or half dollars: this one is always a change
QTY_STEP = 6
ITEM_ID_BASE = 10_000_000_000
SUBITEM_ID_BASE = 20_000_000_000

# --- realistic order lines -------------------------------------------------------------------

# Size runs taken from the real size columns; a line orders a window of 3 to 8 of its run.
RUNS = (
    ("XXXS", "XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"),
    ("XS", "S", "S/M", "M", "M/L", "L", "L/XL", "XL", "XXL"),
    ("0", "2", "4", "6", "8", "10", "12", "14", "16", "18", "20"),
    ("30/30", "30/32", "32/30", "32/32", "34/30", "34/32", "36/30", "36/32", "38/30", "38/32"),
    ("28", "29", "30", "31", "32", "33", "34", "35", "36", "38", "40", "42"),
    ("32C", "32D", "32DD", "34C", "34D", "34DD", "36C", "36D", "36DD", "38C", "38D"),
    ("2T", "3T", "4T", "5T", "6T", "7", "9"),
    ("1X", "2X", "3X", "4X", "2XL", "3XL", "4XL"),
    ("30-30L", "30-32L", "31-30L", "31-32L", "32-30L", "32-32L", "34-30L", "34-32L"),
)
NAMES = (("GREYSON", 3), ("GREYSON CLOTHIERS", 1))
SEASONS = (
    ("2025 SUMMER", "25SU"),
    ("2025 FALL", "25FA"),
    ("2025 HOLIDAY", "25HO"),
    ("2026 SPRING", "26SP"),
    ("2026 SUMMER", "26SU"),
    ("2026 FALL", "26FA"),
)
CATEGORIES = (("TOPS", "6110.20.2075", "0.165"), ("BOTTOMS", "6203.42.4011", "0.166"))
COLOURS = (
    ("WHITE", "100"),
    ("NAVY", "410"),
    ("SHEPHERD", "020"),
    ("BLACK", "001"),
    ("MALTESE", "060"),
    ("ARCTIC", "450"),
    ("HEATHER GREY", "030"),
    ("SAGE", "330"),
    ("ESPRESSO", "210"),
    ("CORAL", "650"),
)
DESCRIPTIONS = (
    "Guide Sport Polo",
    'Saguaro "Waffle" Hoodie',
    "Colonnade Quarter-Zip",
    "Café Crew Tee",
    'Montauk "Tech" Trouser',
    "Flex Chino Pant",
    "Sequoia Puffer Vest",
)
NOTES = ('Hang tags per "brand book" v3', "Ship complete", "Pre-pack 1-2-2-1", None, None, None)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DIRTY = ("nan", "None", "")


def order_rows(count: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``count`` GREYSON order lines, about 50 per PO, keys ``GRY-0000001`` upwards.

    Every row carries every size column (the INSERT's shape is the first row's), 3 to 8 of
    them non-zero and the rest NULL or 0, and ~45 business columns as the real source holds
    them: text, prices as NVARCHAR decimals ('nan' or '' now and then), dates.
    """
    rng = random.Random(seed)
    sizes = size_columns()
    blank_null = dict.fromkeys(sizes)
    blank_zero = dict.fromkeys(sizes, 0)
    po_left = 0
    po: dict[str, Any] = {}
    for number in range(1, count + 1):
        if po_left == 0:
            po = _purchase_order(rng, number)
            po_left = rng.randint(20, 80)
        po_left -= 1
        category, hs_code, duty = CATEGORIES[rng.random() < 0.35]
        colour, code = rng.choice(COLOURS)
        style = f"GMK{rng.randint(1000, 9999)}"
        run = rng.choice(RUNS)
        width = rng.randint(3, min(8, len(run)))
        start = rng.randint(0, len(run) - width)
        row = dict(blank_zero if rng.random() < 0.3 else blank_null)
        for size in run[start : start + width]:
            row[size] = 12 * rng.randint(1, 40) if rng.random() < 0.7 else rng.randint(6, 480)
        price = rng.randint(24, 120) / 2
        fob = round(price * 0.82 + 0.40, 2)
        prices = {
            PRICE: f"{price:.2f}",
            "USA ONLY LSTP 75% EX WORKS": f"{price * 0.82 * 0.75:.2f}",
            "EX WORKS (USD)": f"{price * 0.82:.2f}",
            "ADMINISTRATION FEE": "0.25",
            "DESIGN FEE": "0.00",
            "FX CHARGE": "0.15",
            "SURCHARGE FEE": "0.00",
            "DISCOUNT": "0.00",
            "FINAL FOB (USD)": f"{fob:.2f}",
            "US DUTY RATE": duty,
            "US DUTY": f"{fob * float(duty):.2f}",
            "US TARIFF RATE": "0.10",
            "US TARIFF": f"{fob * 0.10:.2f}",
            "DDP US (USD)": f"{fob * (1.10 + float(duty)):.2f}",
            "SMS PRICE USD": f"{price:.2f}",
        }
        if rng.random() < 0.25:  # the real source writes 'nan', 'None' and '' for "no value"
            for name in rng.sample(sorted(prices)[1:], rng.randint(1, 3)):
                prices[name] = rng.choice(DIRTY)
        method = "AIR" if rng.random() < 0.1 else po["PLANNED DELIVERY METHOD"]
        eta = po["EX FACTORY DATE"] + timedelta(days=rng.randint(5, 12 if method == "AIR" else 45))
        row.update(po)
        row.update(prices)
        row.update(
            {
                KEY: f"GRY-{number:07d}",
                "CUSTOMER NAME": rng.choices(*zip(*NAMES, strict=True))[0],
                "CUSTOMER ALT PO": f"{po['PO NUMBER']}-{rng.randint(1, 3)}",
                "DROP": "DROP 1" if rng.random() < 0.85 else "DROP 2",
                "CATEGORY": category,
                "PATTERN ID": f"P-{style[-4:]}",
                "MAKE OR BUY": "MAKE",
                "PLANNER": rng.choice(("J. ORTIZ", "M. CHEN", "S. PATEL")),
                "ALIAS/RELATED ITEM": f"{style}-{code}",
                "CUSTOMER STYLE": style,
                "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS": code,
                "CUSTOMER CODE": "C-GRY",
                "STYLE DESCRIPTION": rng.choice(DESCRIPTIONS),
                "CUSTOMER COLOUR DESCRIPTION": colour,
                "UNIT OF MEASURE": rng.choices(("EACH", "PACK", "SET", "DOZEN"), (17, 1, 1, 1))[0],
                "INFOR COLOUR CODE": f"{colour[:3]}{code}",
                "ORDER TYPE": "CANCELLED" if rng.random() < 0.04 else "ACTIVE",
                "ETA CUSTOMER WAREHOUSE DATE": eta,
                "PLANNED DELIVERY METHOD": method,
                "NOTES": rng.choice(NOTES),
                "HANDLING": rng.choice(("0.10", "0.15", "INCL")),
                "FREIGHT": rng.choice(("0.45", "0.60", "TBC")),
                "HS CODE": hs_code,
                "FINAL PRICES Y/N": rng.choice(("Y", "Y", "N")),
                "NOTES FOR PRICE": "FOB + duty + tariff" if rng.random() < 0.3 else None,
                "TOTAL QTY": sum(row[s] or 0 for s in run[start : start + width]),
                "record_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
        )
        yield row


def _purchase_order(rng: random.Random, number: int) -> dict[str, Any]:
    season, aag_season = rng.choice(SEASONS)
    ordered = date(2025, 1, 2) + timedelta(days=rng.randint(0, 600))
    ex_factory = ordered + timedelta(days=rng.randint(60, 120))
    return {
        "PO NUMBER": str(4000 + number // 40 + rng.randint(0, 9)),
        "CUSTOMER SEASON": season,
        "AAG SEASON": aag_season,
        "ORDER DATE PO RECEIVED": ordered,
        "EX FACTORY DATE": ex_factory,
        "MONTH": MONTHS[ex_factory.month - 1],
        "DELIVERY TERMS": rng.choice(("FOB", "FOB", "DDP")),
        "PLANNED DELIVERY METHOD": rng.choice(("SEA", "SEA", "SEA", "AIR")),
        "DESTINATION": "USA",
        "DESTINATION WAREHOUSE": "GREYSON DC - CARLSTADT, NJ",
    }


# --- phases (each in its own process) --------------------------------------------------------


def phase_setup(db: Database, lines: int) -> dict[str, Any]:
    """Create ordersync's tables and the source table; insert ``lines`` rows (``insert_rows``:
    COPY on PostgreSQL)."""
    upgrade(db.engine)
    table = create_source_table(db.engine, replace=True)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with db.engine.begin() as connection:
        for row in order_rows(lines):
            rows.append(row)
            if len(rows) == INSERT_CHUNK:
                insert_rows(connection, table, rows)
                rows = []
        if rows:
            insert_rows(connection, table, rows)
    inserted = time.perf_counter() - started
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(sa.text('ANALYZE "ORDERS_UNIFIED"'))
        count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        cells = sum(
            connection.execute(
                sa.select(sa.func.count()).where(table.c[size] > 0).select_from(table)
            ).scalar_one()
            for size in size_columns()
        )
    return {"lines": count, "size_cells": cells, "insert_s": inserted}


class PhaseClock:
    """Cheap per-phase clocks around ``plan_batch``'s steps (patched in, this process only):
    wall seconds (``perf_counter``) and this process's CPU seconds (``process_time``) each.

    Nested steps are counted once, in the outermost: the builds that ``_SourceKeys`` does
    inside ``stage rows`` or ``archives`` count there, not under ``build lines`` too.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._depth = 0

    def add(self, name: str, seconds: float, cpu: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def _timed(self, name: str, step: Callable[[], Any]) -> Any:
        if self._depth:
            return step()
        self._depth += 1
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return step()
        finally:
            self._depth -= 1
            self.add(name, time.perf_counter() - started, time.process_time() - cpu)

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            return self._timed(name, lambda: original(*args, **kwargs))

        setattr(owner, attribute, timed)

    def wrap_generator(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        done = object()

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = original(*args, **kwargs)
            while True:
                item = self._timed(name, lambda: next(iterator, done))
                if item is done:
                    return
                yield item

        setattr(owner, attribute, timed)

    def install(self) -> None:
        planner = plan_module._Planner
        self.wrap_generator(plan_module, "iter_chunks", "read source")
        self.wrap(LineBuilder, "build", "build lines")
        self.wrap(planner, "_mirror_digests", "mirror digests")  # SQLite: digests in Python
        self.wrap(planner, "scan_unchanged", "unchanged in SQL")  # PostgreSQL: in the database
        self.wrap(planner, "record_digests", "record digests")
        self.wrap(planner, "scan", "scan insert")
        self.wrap(planner, "reject_duplicates", "duplicates")
        self.wrap_generator(planner, "_changed_pages", "join/diff query")
        self.wrap(planner, "_mirror_sizes", "mirror sizes")
        self.wrap(planner, "_stage_create", "stage rows")
        self.wrap(planner, "_stage_update", "stage rows")
        if hasattr(planner, "_flush"):  # a plan.py variant that buffers staged rows
            self.wrap(planner, "_flush", "stage rows")
        self.wrap(planner, "stage_archives", "archives")


def phase_plan(db: Database, mode: str) -> dict[str, Any]:
    """One ``plan_batch`` of the GREYSON scope: ``timed`` (real staging, phase clocks),
    ``traced`` (tracemalloc, dry run) or ``profile`` (cProfile, dry run)."""
    config = load_builtin_config()
    with db.engine.connect() as connection:  # connect (and warm the pool) before measuring
        connection.execute(sa.text("SELECT 1"))
    rss_before = _rss_mb()
    backend_pid = _backend_pid(db)
    db_cpu_before = _process_cpu(backend_pid)
    cpu_before = _own_cpu()
    clock = PhaseClock()
    profile = cProfile.Profile()
    if mode == "timed":
        clock.install()
    elif mode == "traced":
        tracemalloc.start()
    else:
        profile.enable()
    started = time.perf_counter()
    result = plan_module.plan_batch(db, config, SCOPE, dry_run=mode != "timed")
    wall = time.perf_counter() - started
    cpu = _own_cpu() - cpu_before
    db_cpu_after = _process_cpu(backend_pid)
    figures: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": cpu,
        "db_cpu_s": None if db_cpu_after is None else db_cpu_after - (db_cpu_before or 0.0),
        "rss_before_mb": rss_before,
        "rss_mb": _rss_mb(),
        "load": os.getloadavg()[0],
    }
    if mode == "traced":
        figures["tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    elif mode == "profile":
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(15)
        figures["profile"] = out.getvalue()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        figures["profile_tottime"] = out.getvalue()
    else:
        figures["phases"] = clock.seconds
        figures["phases_cpu"] = clock.cpu
    figures["batch_id"] = result.batch_id
    figures["counts"] = {
        "items": result.items,
        "subitems": result.subitems,
        "item_updates": result.item_updates,
        "item_archives": result.item_archives,
        "subitem_updates": result.subitem_updates,
        "subitem_archives": result.subitem_archives,
        "rejected": result.rejected,
        "unchanged": result.unchanged,
    }
    return figures


def phase_deliver(db: Database, batch_id: str, refresh: bool) -> dict[str, Any]:
    """Simulated delivery: the staged batch promoted into the mirror with SQL, fake ids, then
    the mirror refreshed as a delivery does (``deliver.refresh_mirror``) unless ``refresh`` is
    false (``--no-refresh``: the next plan pays for it, as under autovacuum before it ran)."""
    t = db.tables
    board_id = load_builtin_config().board_id(None)
    now = utcnow()
    started = time.perf_counter()
    stg, sub, items, subitems = t.staged_items, t.staged_subitems, t.items, t.subitems
    item_rows = sa.select(
        sa.literal(board_id, sa.BigInteger),
        stg.c.order_key,
        sa.literal(ITEM_ID_BASE, sa.BigInteger)
        + sa.func.row_number().over(order_by=stg.c.order_key),
        stg.c.item_name,
        stg.c.group_title,
        stg.c.column_values,
        stg.c.row_hash,
        stg.c.raw_digest,
        stg.c.customer,
        stg.c.po_number,
        stg.c.season,
        sa.literal(MirrorState.ACTIVE.value),
        stg.c.batch_id,
        sa.literal(now, sa.DateTime),
    ).where(stg.c.batch_id == batch_id, stg.c.action == Action.CREATE.value)
    item_columns = [
        "board_id",
        "order_key",
        "monday_item_id",
        "item_name",
        "group_title",
        "column_values",
        "row_hash",
        "raw_digest",
        "customer",
        "po_number",
        "season",
        "state",
        "batch_id",
        "synced_at",
    ]
    subitem_rows = (
        sa.select(
            sa.literal(board_id, sa.BigInteger),
            sub.c.order_key,
            sub.c.size_label,
            sa.literal(SUBITEM_ID_BASE, sa.BigInteger)
            + sa.func.row_number().over(order_by=(sub.c.order_key, sub.c.size_label)),
            items.c.monday_item_id,
            sub.c.qty,
            sub.c.row_hash,
            sa.literal(MirrorState.ACTIVE.value),
            sub.c.batch_id,
            sa.literal(now, sa.DateTime),
        )
        .select_from(
            sub.join(
                items, sa.and_(items.c.board_id == board_id, items.c.order_key == sub.c.order_key)
            )
        )
        .where(sub.c.batch_id == batch_id, sub.c.action == Action.CREATE.value)
    )
    subitem_columns = [
        "board_id",
        "order_key",
        "size_label",
        "monday_subitem_id",
        "monday_parent_item_id",
        "qty",
        "row_hash",
        "state",
        "batch_id",
        "synced_at",
    ]
    with db.engine.begin() as connection:
        connection.execute(items.insert().from_select(item_columns, item_rows))
        connection.execute(subitems.insert().from_select(subitem_columns, subitem_rows))
        promoted, promoted_sub = (
            connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.batch_id == batch_id)
            ).scalar_one()
            for table in (items, subitems)
        )
        for table in (stg, sub):
            connection.execute(
                table.update()
                .where(table.c.batch_id == batch_id)
                .values(status=RowStatus.DONE.value, updated_at=now)
            )
        connection.execute(
            t.batches.update()
            .where(t.batches.c.batch_id == batch_id)
            .values(
                status=BatchStatus.BATCH_COMPLETED.value,
                items_completed_at=now,
                subitems_completed_at=now,
                completed_at=now,
                updated_at=now,
                items_created=promoted,
                subitems_created=promoted_sub,
            )
        )
    elapsed = time.perf_counter() - started
    refreshed = time.perf_counter()
    if refresh:  # as ``Delivery.deliver`` ends a batch this large
        refresh_mirror(db)
    return {
        "items": promoted,
        "subitems": promoted_sub,
        "seconds": elapsed,
        "refresh_s": time.perf_counter() - refreshed if refresh else None,
    }


def phase_change(db: Database, lines: int) -> dict[str, Any]:
    """1 % of the lines change: a price on 0.5 %, one size quantity on another 0.5 %."""
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    rng = random.Random(SEED + 1)
    picked = [f"GRY-{n:07d}" for n in rng.sample(range(1, lines + 1), max(2, lines // 100))]
    half = len(picked) // 2
    priced, resized = sorted(picked[:half]), sorted(picked[half:])
    sizes = size_columns()
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c[KEY].in_(priced)).values({PRICE: NEW_PRICE})
        )
        rows = connection.execute(
            sa.select(table.c[KEY], *(table.c[s] for s in sizes)).where(table.c[KEY].in_(resized))
        ).all()
        by_size: dict[str, list[str]] = {}
        for row in rows:
            first = next(s for s, qty in zip(sizes, row[1:], strict=True) if qty)
            by_size.setdefault(first, []).append(row[0])
        for size, keys in by_size.items():
            connection.execute(
                table.update()
                .where(table.c[KEY].in_(keys))
                .values({size: table.c[size] + QTY_STEP})
            )
    return {
        "prices": len(priced),
        "quantities": len(resized),
        "seconds": time.perf_counter() - started,
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_pid(db: Database) -> int | None:
    """The PostgreSQL server process serving the pooled connection (``None`` on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return None
    with db.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a local process (the PostgreSQL backend), from /proc."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_phase(args: argparse.Namespace) -> None:
    db = Database.connect(args.url)
    actions: dict[str, Callable[[], dict[str, Any]]] = {
        "setup": lambda: phase_setup(db, args.lines),
        "timed": lambda: phase_plan(db, "timed"),
        "traced": lambda: phase_plan(db, "traced"),
        "profile": lambda: phase_plan(db, "profile"),
        "deliver": lambda: phase_deliver(db, args.batch, args.refresh),
        "change": lambda: phase_change(db, args.lines),
    }
    figures = actions[args.phase]()
    db.engine.dispose()
    print(json.dumps(figures))


# --- the driver ------------------------------------------------------------------------------


def subphase(
    url: str, phase: str, lines: int, batch: str | None = None, *, refresh: bool = True
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--url", url, "--lines", str(lines)]
    if batch:
        command += ["--batch", batch]
    if not refresh:
        command.append("--no-refresh")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    print(f"[{phase}: {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"phase {phase} failed on {url}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def counts_text(counts: dict[str, int]) -> str:
    names = {
        "items": "create",
        "subitems": "sub create",
        "item_updates": "upd",
        "subitem_updates": "sub upd",
        "item_archives": "arch",
        "subitem_archives": "sub arch",
        "rejected": "rej",
        "unchanged": "same",
    }
    return ", ".join(f"{names[k]} {v:,}" for k, v in counts.items() if v or k == "unchanged")


ROW = "{:<10}  {:<16}  {:>7}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>7}  {:>4}  {}"


def row(backend: str, phase: str, lines: int, wall: float, *rest: str) -> str:
    cells = [*rest, "", "", "", "", "", "", ""][:7]
    return ROW.format(backend, phase, f"{lines:,}", f"{wall:.1f}", *cells)


def measure(backend: str, url: str, args: argparse.Namespace, profile: bool) -> list[str]:
    """Every phase on one database, printed as it goes; returns the profile text (if any)."""
    lines = args.lines
    setup = subphase(url, "setup", lines)
    note = f"({setup['size_cells']:,} non-zero size cells)"
    print(row(backend, "insert source", setup["lines"], setup["insert_s"], *[""] * 6, note))
    texts = []
    batch = None
    for sync in ("first", "no-change", "no-change 2", "re-sync"):
        if sync == "no-change":
            assert batch is not None
            done = subphase(url, "deliver", lines, batch, refresh=args.refresh)
            note = f"({done['items']:,} items, {done['subitems']:,} subitems promoted)"
            print(row(backend, "deliver (SQL)", lines, done["seconds"], *[""] * 6, note))
            if done["refresh_s"] is not None:
                print(row(backend, "refresh mirror", lines, done["refresh_s"], *[""] * 6))
        if sync == "re-sync":
            changed = subphase(url, "change", lines)
            note = f"({changed['prices']:,} prices, {changed['quantities']:,} size quantities)"
            print(row(backend, "change 1 %", lines, changed["seconds"], *[""] * 6, note))
        timed = subphase(url, "timed", lines)
        batch = timed["batch_id"]
        traced = subphase(url, "traced", lines) if args.tracemalloc else None
        db_cpu = "-" if timed["db_cpu_s"] is None else f"{timed['db_cpu_s']:.1f}"
        print(
            row(
                backend,
                f"{sync} plan",
                lines,
                timed["wall_s"],
                f"{timed['cpu_s']:.1f}",
                db_cpu,
                f"{timed['rss_mb']:.0f}",
                f"{timed['rss_mb'] - timed['rss_before_mb']:.0f}",
                "-" if traced is None else f"{traced['tracemalloc_mb']:.1f}",
                f"{timed['load']:.1f}",
                counts_text(timed["counts"]),
            ),
            flush=True,
        )
        cpu = timed["phases_cpu"]
        phases = ", ".join(f"{k} {v:.1f}/{cpu[k]:.1f}" for k, v in timed["phases"].items())
        other = timed["wall_s"] - sum(timed["phases"].values())
        other_cpu = timed["cpu_s"] - sum(cpu.values())
        print(
            f"{'':<26}phases (wall/CPU s): {phases}, other {other:.1f}/{other_cpu:.1f}",
            flush=True,
        )
        if profile:
            profiled = subphase(url, "profile", lines)
            texts.append(
                f"# cProfile, {backend} {sync} plan (a dry run: the same work, rolled back; "
                f"{profiled['wall_s']:.1f} s under the profiler)\n"
                f"## top 15 by cumulative time\n{_trim(profiled['profile'])}\n"
                f"## top 15 by own time\n{_trim(profiled['profile_tottime'])}"
            )
    return texts


def _trim(text: str) -> str:
    """The stats table alone, with paths shortened to the package."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    prefixes = sorted({str(Path(p)) + "/" for p in sys.path if p}, key=len, reverse=True)
    kept = []
    for line in lines[start:]:
        for prefix in prefixes:
            line = line.replace(prefix, "")
        if line:
            kept.append(line)
    return "\n".join(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="order lines to generate")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server to use")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--no-tracemalloc",
        dest="tracemalloc",
        action="store_false",
        help="skip the tracemalloc dry runs (they take 3-5x the plan's time)",
    )
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the cProfile dry run"
    )
    parser.add_argument(
        "--no-refresh",
        dest="refresh",
        action="store_false",
        help="deliver without VACUUM (ANALYZE) of the mirror: the first re-plan pays for it",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--batch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return
    print(f"# planning at scale: {args.lines:,} order lines of GREYSON, 161 size columns")
    print(
        f"# {time.strftime('%Y-%m-%d')}  {platform.node()}  {os.cpu_count()} cores  "
        f"Python {platform.python_version()}  SQLAlchemy {sa.__version__}"
    )
    print(f"# ordersync from {Path(plan_module.__file__).parent}  load {os.getloadavg()[0]:.1f}")
    flags = sys.argv[1:] + (
        [] if any(a.startswith("--pg-url") for a in sys.argv) else ["--pg-url", args.pg_url]
    )
    print(f"# reproduce: .venv/bin/python bench/plan_scale.py {shlex.join(flags)}")
    print(
        ROW.format(
            "backend",
            "phase",
            "lines",
            "wall",
            "CPU",
            "DB CPU",
            "peak",
            "RSS",
            "tracem.",
            "load",
            "planned counts",
        )
    )
    print(ROW.format("", "", "", "s", "s", "s", "RSS MB", "+ MB", "peak MB", "", ""))
    texts: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            texts += measure("SQLite", f"sqlite:///{Path(tmp) / 'plan.db'}", args, False)
        if not args.skip_postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(args.pg_url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            try:
                url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
                texts += measure("PostgreSQL", url, args, args.profile)
            finally:
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(f"# total bench time {time.perf_counter() - started:.0f} s")
    for text in texts:
        print()
        print(text)


if __name__ == "__main__":
    main()
