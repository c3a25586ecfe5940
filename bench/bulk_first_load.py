"""Benchmark: a first load through mutations, ``ingest_items`` and ``backfill_items`` (issue 13).

Syncs ``--lines`` new order lines, each with ``--sizes`` sizes (5,000 lines / 20,000 subitems by
default), three times from scratch: ``--bulk never`` (mutations), ``--bulk always`` (ingest
jobs) and ``--bulk always --backfill``, each on a fresh SQLite file and a fresh in-process
emulator with monday's default limits (10M complexity points a minute, 19,000 ingest items an
hour, 100 job starts an hour; but 100,000 items per board, since 20,000 subitems do not fit
the 10,000 of one subitems board). Client and emulator share a ``ManualClock``: the modelled time
(budget waits, job processing, polls) costs no real time. An ingest run stopped by the hourly
item budget (``ACCOUNT_CAPACITY_EXCEEDED``) waits an hour of modelled time and syncs again, as
an operator would.

How long a job takes to process is not published by monday (FACTS.md "Bulk import" documents
the limits, the states and polling about every 10 s; nothing of speed, nor how many jobs run at
once). The modelled time of a job is therefore the emulator's own model, used here at its
defaults and never tuned for this comparison: ``Limits.bulk_job_seconds`` (2 s) + rows /
``Limits.bulk_rows_per_second`` (100 a second) per job, the jobs of a batch side by side
(``Undocumented.bulk_parallel_jobs`` = 0: no limit). The run says which model it used, and how
many of each run's modelled minutes were job processing, so that the reader can tell how much
of the comparison rests on that model.

Prints per run: requests, complexity spent, modelled minutes (of which job processing), real
wall and CPU seconds; and the peak memory of building one job's CSV file (``tracemalloc``) and
all files. Asserts nothing.

    .venv/bin/python bench/bulk_first_load.py --lines 5000 --sizes 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from backlog_pacing import SCOPE, fill_backlog

from ordersync.clock import ManualClock
from ordersync.config import SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.emulator import Emulator, Limits, Undocumented
from ordersync.errors import LimitReachedError
from ordersync.monday import MondayClient
from ordersync.push.bulk.files import ROW_LIMITS, Line, build_file, plan_jobs
from ordersync.sync import run_sync

URL = "http://emulator.bench/v2"
ITEMS_PER_BOARD = 100_000
HOUR = 3600.0


@dataclass
class Run:
    label: str
    status: str
    syncs: int
    requests: int
    complexity: int
    modelled: float
    wall: float
    cpu: float
    jobs: int
    processing: float  # modelled seconds during which at least one job was processing


def one_run(
    label: str, config: SyncConfig, lines: int, sizes: int, tmp: Path, undocumented: Undocumented
) -> Run:
    db = Database.connect(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")
    upgrade(db.engine)
    fill_backlog(db, lines, sizes)
    clock = ManualClock()
    # 20,000 subitems exceed the 10,000 items per board that the emulator applies to the
    # subitems board too; raised so that the sizes fit
    emulator = Emulator(
        clock=clock,
        seed=True,
        limits=Limits(items_per_board=ITEMS_PER_BOARD),
        undocumented=undocumented,
    )
    started, wall, cpu = clock.monotonic(), time.perf_counter(), time.process_time()
    syncs, status = 0, "not run"
    with MondayClient(URL, "bench-token", transport=emulator.transport(), clock=clock) as client:
        while syncs < 5:
            syncs += 1
            try:
                outcome = run_sync(db, config, client, SCOPE)
                finished = outcome.resumed if outcome.report is None else [outcome.report]
                status = finished[-1].status if finished else outcome.status
                break
            except LimitReachedError as error:
                status = f"stopped: {error.code}"
                if error.code != "ACCOUNT_CAPACITY_EXCEEDED":
                    break
                clock.sleep(HOUR)  # the hourly ingest budget: run again an hour later
        requests = client.stats.requests
    with db.engine.connect() as connection:
        jobs = connection.execute(
            sa.select(sa.func.count()).select_from(db.tables.bulk_jobs)
        ).scalar_one()
    processing = processing_seconds(
        [(job.started_at, job.ended_at) for job in emulator.bulk.jobs.values()]
    )
    run = Run(
        label,
        status,
        syncs,
        requests,
        emulator.stats.complexity_used,
        clock.monotonic() - started,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        jobs,
        processing,
    )
    db.engine.dispose()
    return run


def processing_seconds(spans: list[tuple[float | None, float | None]]) -> float:
    """Seconds covered by the union of the jobs' processing spans (jobs run side by side)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted((s, e) for s, e in spans if s is not None and e is not None):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def processing_model(undocumented: Undocumented) -> str:
    """The emulator's job-processing model the runs use."""
    limits = Limits()
    parallel = undocumented.bulk_parallel_jobs or "no limit"
    return (
        f"the emulator's own (monday publishes none): {limits.bulk_job_seconds:g} s + rows / "
        f"{limits.bulk_rows_per_second:g} a second per job, jobs at once: {parallel}"
    )


def csv_memory(config: SyncConfig, lines: int, sizes: int, tmp: Path) -> tuple[int, int, int]:
    """Peak bytes of building one ingest job's file and all files, from staged rows."""
    db = Database.connect(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")
    upgrade(db.engine)
    fill_backlog(db, lines, sizes)
    from ordersync.push.plan import plan_batch

    plan_batch(db, config, SCOPE, mode=None)
    t = db.tables
    with db.engine.connect() as connection:
        items = connection.execute(sa.select(t.staged_items).order_by(t.staged_items.c.order_key))
        item_rows = list(items)
        subs: dict[str, list[sa.Row]] = {}
        for row in connection.execute(
            sa.select(t.staged_subitems).order_by(t.staged_subitems.c.stg_id)
        ):
            subs.setdefault(row.parent_stg_id, []).append(row)
    db.engine.dispose()
    all_lines = [Line(item, tuple(subs.get(item.stg_id, ()))) for item in item_rows]
    groups = {line.item.group_title: "g" for line in all_lines}
    jobs = plan_jobs(all_lines, groups, ROW_LIMITS["ingest"])
    tracemalloc.start()
    first = build_file(config, jobs[0].lines)
    _, one_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    total = sum(len(build_file(config, job.lines).body) for job in jobs)
    _, all_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del first
    return one_peak, all_peak, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--sizes", type=int, default=4)
    parser.add_argument(
        "--runs", default="mutations,ingest,backfill", help="which runs (comma-separated)"
    )
    parser.add_argument(
        "--parallel-jobs",
        type=int,
        default=Undocumented().bulk_parallel_jobs,
        help="jobs the emulator processes at once (0: no limit, its default; monday's is "
        "undocumented): to see how much of the comparison rests on it",
    )
    args = parser.parse_args()
    undocumented = Undocumented(bulk_parallel_jobs=args.parallel_jobs)
    config = load_builtin_config()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bulk-bench-") as name:
        tmp = Path(name)
        for label, bulk in (
            ("mutations", config.with_bulk("never")),
            ("ingest", config.with_bulk("always")),
            ("backfill", config.with_bulk("always", backfill=True)),
        ):
            if label not in args.runs.split(","):
                continue
            runs.append(one_run(label, bulk, args.lines, args.sizes, tmp, undocumented))
            print(json.dumps(runs[-1].__dict__), flush=True)
        one_peak, all_peak, total = csv_memory(config, args.lines, args.sizes, tmp)
    command = shlex.join([sys.executable, *sys.argv])
    print(f"\n# bulk first load: {args.lines:,} lines, {args.lines * args.sizes:,} subitems")
    print(f"command: {command}")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"job processing model: {processing_model(undocumented)}")
    print()
    print(
        "| run | status | syncs | jobs | requests | complexity | modelled min "
        "| of which job processing | wall s | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r.label} | {r.status} | {r.syncs} | {r.jobs} | {r.requests:,} | "
            f"{r.complexity:,} | {r.modelled / 60:.2f} | {r.processing / 60:.2f} | "
            f"{r.wall:.1f} | {r.cpu:.1f} |"
        )
    base = runs[0].modelled if runs[0].label == "mutations" else 0
    for r in runs[1:]:
        if r.modelled and base:
            print(f"\n{r.label}: {base / r.modelled:.1f}x fewer modelled minutes than mutations")
    print(
        f"\nCSV build peak memory: {one_peak / 1e6:.1f} MB for one ingest job's file, "
        f"{all_peak / 1e6:.1f} MB building all {total / 1e6:.1f} MB of files one by one"
    )


if __name__ == "__main__":
    main()
