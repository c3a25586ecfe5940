"""Benchmark: pacing a backlog of creates under a small complexity budget (issue 4).

Syncs a backlog of order lines (``--creates`` lines, each one item and ``--sizes`` subitems)
with ``run_sync`` against the in-process emulator, and also sends ``--creates`` bare
``create_item`` aliases through ``MondayClient.mutate``. Client and emulator share one
``ManualClock``: waiting for the budget to reset costs no real time, so an hour and a half of
monday time runs in under a minute. Prints, per run, the simulated time, the share of the
complexity budget used, the 429s the emulator sent (by kind), requests, retries, time spent
pacing and the real wall time. Prints figures; asserts nothing.

Runs: the sync with chunks fitted to the small budget (the figure of issue 4), the sync with
the production chunks of 50 under the same budget, the sync with the production chunks under
the default budget (10,000,000 points / 60 s), and the bare creates under both budgets.

    .venv/bin/python bench/backlog_pacing.py --creates 2000 --sizes 4 --budget 200000 --window 10
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ordersync.clock import ManualClock
from ordersync.config import DeliveryConfig, SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table
from ordersync.emulator import CMS_BOARD_ID, Emulator, Limits
from ordersync.errors import MondayError
from ordersync.lookup import find_items
from ordersync.monday import MondayClient, documents
from ordersync.monday.column_values import to_monday
from ordersync.source import Scope
from ordersync.sync import run_sync

URL = "http://emulator.bench/v2"
KEY_COLUMN = "text_mkr5wya6"
SIZES = ("S", "M", "L", "XL", "XXL", "XS")
SCOPE = Scope("GREYSON", "9000")
PRODUCTION = DeliveryConfig()  # the shipped chunk sizes (50 aliases a request)
DEFAULT_LIMITS = Limits()  # a Pro account: 10,000,000 points per 60 s


@dataclass(frozen=True)
class Budget:
    """A complexity budget: ``points`` per fixed window of ``window`` seconds."""

    points: int
    window: float

    def __str__(self) -> str:
        return f"{self.points:,} points / {self.window:g} s"


@dataclass(frozen=True)
class Costs:
    """Points the emulator charges for one alias of each kind, and for one lookup by key."""

    create_item: int
    create_subitem: int
    lookup: int


@dataclass
class Run:
    """What one run did, read from the emulator's and the client's counters."""

    label: str
    budget: Budget
    status: str
    created: Counter[str]
    elapsed: float
    complexity: int
    throttled: Counter[str]
    requests: int
    retries: int
    paced: float
    slept: float
    wall: float
    last_after: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def windows(self) -> int:
        """Budget windows the run touched, the last (partly used) one included."""
        return int(self.elapsed // self.budget.window) + 1

    @property
    def share(self) -> float:
        return self.complexity / (self.budget.points * self.windows)

    @property
    def full_window_share(self) -> float | None:
        """The share over every window but the last (what a longer backlog tends to)."""
        if self.last_after is None or self.windows < 2 or self.throttled:
            return None
        in_last = self.budget.points - self.last_after
        return (self.complexity - in_last) / (self.budget.points * (self.windows - 1))


# --------------------------------------------------------------------------- monday
def new_monday(budget: Budget) -> tuple[ManualClock, Emulator, MondayClient]:
    """An emulator with this budget and a client wired to it, sharing one manual clock."""
    clock = ManualClock()
    limits = Limits(complexity_budget=budget.points, complexity_window=budget.window)
    emulator = Emulator(clock=clock, limits=limits, seed=True)
    client = MondayClient(URL, "bench-token", transport=emulator.transport(), clock=clock)
    return clock, emulator, client


def item_mutation(alias: str, n: int) -> documents.Mutation:
    return documents.create_item(
        alias,
        board_id=CMS_BOARD_ID,
        item_name=f"GMK{n}NAVYBL-{n:05d}",
        column_values={KEY_COLUMN: to_monday("text", f"BL-{n:05d}")},
    )


def last_cost(client: MondayClient) -> int:
    """Points charged for the client's last answered request."""
    report = client.stats.last_complexity
    if report is None:
        raise RuntimeError("the emulator's answer carried no complexity report")
    return report.query


def measure_costs(config: SyncConfig) -> Costs:
    """Ask a throwaway emulator what one create_item, create_subitem and lookup cost."""
    _, _, client = new_monday(Budget(DEFAULT_LIMITS.complexity_budget, 60.0))
    with client:
        item = client.mutate([item_mutation("i1", 0)], idempotency_key=str(uuid.uuid4()))["i1"]
        create_item = last_cost(client)
        if item.data is None:
            raise RuntimeError(f"calibration create_item failed: {item}")
        subitem = documents.create_subitem(
            "s1", parent_item_id=item.data["id"], item_name="S", column_values={}
        )
        client.mutate([subitem], idempotency_key=str(uuid.uuid4()))
        create_subitem = last_cost(client)
        find_items(client, CMS_BOARD_ID, config, ["BL-00000"])
        return Costs(create_item, create_subitem, lookup=last_cost(client))


def fitted_chunk(points: int, alias_cost: int) -> int:
    """The most aliases (at most the production 50) whose cost fits in ``points``."""
    return max(1, min(PRODUCTION.items_per_request, points // alias_cost))


def collect(
    label: str,
    budget: Budget,
    status: str,
    monday: tuple[ManualClock, Emulator, MondayClient],
    started: float,
    wall_started: float,
) -> Run:
    clock, emulator, client = monday
    stats, last = emulator.stats, client.stats.last_complexity
    return Run(
        label=label,
        budget=budget,
        status=status,
        created=Counter({k: v for k, v in stats.mutations.items() if k.startswith("create_")}),
        elapsed=clock.monotonic() - started,
        complexity=stats.complexity_used,
        throttled=Counter(stats.throttled),
        requests=stats.requests,
        retries=client.stats.retries,
        paced=client.stats.paced_seconds,
        slept=sum(clock.slept),
        wall=time.perf_counter() - wall_started,
        last_after=last.after if last else None,
    )


# --------------------------------------------------------------------------- runs
def fill_backlog(db: Database, lines: int, sizes: int) -> None:
    """``lines`` order lines of customer GREYSON, PO 9000, each with ``sizes`` sizes."""
    table = create_source_table(db.engine)
    blank = {column.name: None for column in table.columns}
    rows = [
        {
            **blank,
            "AAG ORDER NUMBER": f"BL-{n:05d}",
            "CUSTOMER NAME": "GREYSON",
            "PO NUMBER": SCOPE.po_number,
            "CUSTOMER SEASON": "2025 FALL",
            "CUSTOMER STYLE": f"GMK{n}",
            "CUSTOMER COLOUR DESCRIPTION": "NAVY",
            "ORDER TYPE": "ACTIVE",
            "UNIT OF MEASURE": "EACH",
            "CUSTOMER PRICE": f"{n}.50",
            **{size: 1 + (n + k) % 12 for k, size in enumerate(SIZES[:sizes])},
        }
        for n in range(1, lines + 1)
    ]
    with db.engine.begin() as connection:
        connection.execute(table.insert(), rows)


def with_chunks(config: SyncConfig, items: int, subitems: int) -> SyncConfig:
    delivery = config.delivery.model_copy(
        update={"items_per_request": items, "subitems_per_request": subitems}
    )
    return config.model_copy(update={"delivery": delivery})


def sync_run(
    label: str, config: SyncConfig, budget: Budget, lines: int, sizes: int, tmp: Path
) -> Run:
    """``run_sync`` of a fresh backlog on a fresh SQLite file and a fresh emulator."""
    db = Database.connect(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")
    try:
        upgrade(db.engine)
        fill_backlog(db, lines, sizes)
        monday = new_monday(budget)
        clock, _, client = monday
        started, wall_started = clock.monotonic(), time.perf_counter()
        with client:
            try:
                status = run_sync(db, config, client, SCOPE).status
            except MondayError as error:
                status = f"stopped: {type(error).__name__} {error.code}"
        run = collect(label, budget, status, monday, started, wall_started)
    finally:
        db.engine.dispose()
    chunks = config.delivery
    run.notes.append(
        f"{chunks.items_per_request} items, {chunks.subitems_per_request} subitems a request"
    )
    return run


def direct_run(label: str, budget: Budget, creates: int, chunk: int) -> Run:
    """``creates`` create_item aliases through ``client.mutate``, ``chunk`` a request."""
    monday = new_monday(budget)
    clock, _, client = monday
    started, wall_started = clock.monotonic(), time.perf_counter()
    status = "completed"
    with client:
        try:
            for first in range(1, creates + 1, chunk):
                numbers = range(first, min(first + chunk, creates + 1))
                mutations = [item_mutation(f"i{k}", n) for k, n in enumerate(numbers, 1)]
                client.mutate(
                    mutations, idempotency_key=str(uuid.uuid4()), operation_name="CreateItems"
                )
        except MondayError as error:
            status = f"stopped: {type(error).__name__} {error.code}"
    run = collect(label, budget, status, monday, started, wall_started)
    run.notes.append(f"{chunk} create_item a request")
    return run


# --------------------------------------------------------------------------- output
def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def describe(run: Run) -> list[tuple[str, str]]:
    created = sum(run.created.values())
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(run.created.items()))
    throttled = ", ".join(f"{n} {kind}" for kind, n in sorted(run.throttled.items()))
    return [
        ("budget", str(run.budget)),
        ("chunks", "; ".join(run.notes)),
        ("status", run.status),
        ("creates applied", f"{created:,} ({kinds or 'none'})"),
        ("simulated elapsed", f"{run.elapsed:,.1f} s"),
        ("windows touched", f"{run.windows:,}"),
        ("complexity used", f"{run.complexity:,} points"),
        ("budget share", percent(run.share)),
        ("full-window share", percent(run.full_window_share)),
        ("429s sent", f"{sum(run.throttled.values())} ({throttled or 'none'})"),
        ("requests", f"{run.requests:,}"),
        ("retries", f"{run.retries:,}"),
        ("paced", f"{run.paced:,.1f} s"),
        ("waited on 429s", f"{run.slept - run.paced:,.1f} s"),
        ("wall time", f"{run.wall:.1f} s"),
    ]


def print_run(run: Run) -> None:
    print(f"\n== {run.label}")
    for name, value in describe(run):
        print(f"   {name:<18} {value}")
    sys.stdout.flush()


def print_header(costs: Costs) -> None:
    command = shlex.join([".venv/bin/python", "bench/backlog_pacing.py", *sys.argv[1:]])
    print("# backlog pacing: ordersync's client against the emulator's complexity budget")
    print(f"# date       {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"# machine    {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"# reproduce  {command}")
    print(
        f"# costs      create_item {costs.create_item:,}, create_subitem "
        f"{costs.create_subitem:,}, lookup by key {costs.lookup:,} points (emulator)"
    )
    print("# budget share      = complexity used / (budget x windows touched),")
    print("#                     windows touched = floor(simulated elapsed / window) + 1:")
    print("#                     every window the run touched, the last, partly used one too")
    print("# full-window share = the same without the last window (points used in it are")
    print("#                     budget - `after` of the last answer)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--creates", type=int, default=2000, help="order lines synced; bare create_items sent"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        default=4,
        choices=range(1, len(SIZES) + 1),
        metavar="1-6",
        help="sizes (subitems) per order line",
    )
    parser.add_argument("--budget", type=int, default=200_000, help="points per window")
    parser.add_argument("--window", type=float, default=10.0, help="window in seconds")
    return parser.parse_args()


def planned_runs(
    args: argparse.Namespace, config: SyncConfig, costs: Costs, tmp: Path
) -> list[Callable[[], Run]]:
    """The runs, in the order they are measured and printed."""
    small = Budget(args.budget, args.window)
    default = Budget(DEFAULT_LIMITS.complexity_budget, DEFAULT_LIMITS.complexity_window)
    fitted = with_chunks(
        config,
        fitted_chunk(small.points - costs.lookup, costs.create_item),
        fitted_chunk(small.points, costs.create_subitem),
    )
    production = with_chunks(config, PRODUCTION.items_per_request, PRODUCTION.subitems_per_request)
    backlog = (args.creates, args.sizes, tmp)
    small_chunk = fitted_chunk(small.points, costs.create_item)
    return [
        lambda: sync_run("sync, small budget, chunks fitted to it", fitted, small, *backlog),
        lambda: sync_run("sync, small budget, production chunks", production, small, *backlog),
        lambda: sync_run("sync, default budget, production chunks", production, default, *backlog),
        lambda: direct_run("client.mutate, small budget, fitted", small, args.creates, small_chunk),
        lambda: direct_run(
            "client.mutate, default budget, production chunk",
            default,
            args.creates,
            PRODUCTION.items_per_request,
        ),
    ]


def main() -> None:
    args = parse_args()
    config = load_builtin_config()
    costs = measure_costs(config)
    print_header(costs)
    with tempfile.TemporaryDirectory() as directory:
        for measure in planned_runs(args, config, costs, Path(directory)):
            print_run(measure())
    print("\npacing off: not measured (MondayClient has no switch to turn pacing off)")


if __name__ == "__main__":
    main()
