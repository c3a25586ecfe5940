"""Benchmark: a backlog of creates under a complexity budget, chunks sized to fit it (issues 4, 12).

Syncs a backlog of order lines (``--creates`` lines, each one item and ``--sizes`` subitems)
with ``run_sync`` against the in-process emulator with default settings but for
``[delivery.bulk] mode = "never"`` (a backlog above the bulk threshold would otherwise go
through an import job, which ``bench/bulk_first_load.py`` measures): every chunk is sized by
``monday.budget`` from the complexity monday reported (at most ``[delivery]
items_per_request`` / ``subitems_per_request``, 50). It also sends ``--creates`` bare
``create_item`` aliases through ``MondayClient.mutate``, sized the same way, and in fixed
chunks of 50 (the behaviour before issue 12). Client and emulator share one ``ManualClock``:
waiting for the budget to reset costs no real time, so an hour and a half of monday time takes
about a minute of CPU. Prints, per run, the simulated time, the share of the complexity budget
used, the 429s the emulator sent (by kind), requests, retries, time spent pacing, and the
real wall and CPU seconds (the emulator runs in the same process: its CPU is included).
Prints figures; asserts nothing.

Budgets: ``--budget`` points per ``--window`` seconds (200,000 / 10 s by default), and the
plan's own (``--plan``, an emulator preset: 10,000,000 points / 60 s for pro).

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
from ordersync.config import BulkConfig, DeliveryConfig, SyncConfig, load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table
from ordersync.emulator import CMS_BOARD_ID, PLANS, Emulator, Limits
from ordersync.errors import MondayError
from ordersync.monday import MondayClient, documents
from ordersync.monday.column_values import to_monday
from ordersync.push.lookup import find_items
from ordersync.push.source import Scope
from ordersync.sync import run_sync

URL = "http://emulator.bench/v2"
KEY_COLUMN = "text_mkr5wya6"
SIZES = ("S", "M", "L", "XL", "XXL", "XS")
SCOPE = Scope("GREYSON", "9000")
DEFAULTS = DeliveryConfig()  # the shipped settings: at most 50 aliases a request


@dataclass(frozen=True)
class Budget:
    """A complexity budget: ``points`` per fixed window of ``window`` seconds, on ``plan``'s
    other limits (requests a minute, daily calls: the emulator's preset)."""

    points: int
    window: float
    plan: str = "pro"

    def limits(self) -> Limits:
        return Limits.for_plan(
            self.plan, complexity_budget=self.points, complexity_window=self.window
        )

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
    cpu: float
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
    def least_windows(self) -> int:
        """Windows the complexity used needs at the least (each full but the last)."""
        return -(-self.complexity // self.budget.points)

    @property
    def full_window_share(self) -> float | None:
        """The share over every window but the last: the windows the run waited out (the
        last is used only as far as the backlog reaches into it)."""
        if self.last_after is None or self.windows < 2 or self.throttled:
            return None
        in_last = self.budget.points - self.last_after
        return (self.complexity - in_last) / (self.budget.points * (self.windows - 1))


# --------------------------------------------------------------------------- monday
def new_monday(budget: Budget) -> tuple[ManualClock, Emulator, MondayClient]:
    """An emulator with this budget and a client wired to it, sharing one manual clock."""
    clock = ManualClock()
    emulator = Emulator(clock=clock, limits=budget.limits(), seed=True)
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
    _, _, client = new_monday(Budget(10**9, 60.0))
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


def collect(
    label: str,
    budget: Budget,
    status: str,
    monday: tuple[ManualClock, Emulator, MondayClient],
    started: float,
    wall_started: tuple[float, float],
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
        wall=time.perf_counter() - wall_started[0],
        cpu=time.process_time() - wall_started[1],
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
        started, wall_started = clock.monotonic(), (time.perf_counter(), time.process_time())
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
        f"sized to the budget, at most {chunks.items_per_request} items, "
        f"{chunks.subitems_per_request} subitems a request"
    )
    return run


def direct_run(label: str, budget: Budget, creates: int, fixed: int | None) -> Run:
    """``creates`` create_item aliases through ``client.mutate``: ``fixed`` a request, or
    (``None``) as many as ``client.chunk_size`` says, at most the default 50."""
    monday = new_monday(budget)
    clock, _, client = monday
    started, wall_started = clock.monotonic(), (time.perf_counter(), time.process_time())
    status = "completed"
    sizes: Counter[int] = Counter()
    with client:
        try:
            first = 1
            while first <= creates:
                cap = DEFAULTS.items_per_request
                chunk = fixed or client.chunk_size("create_item", cap)
                sizes[chunk] += 1
                numbers = range(first, min(first + chunk, creates + 1))
                mutations = [item_mutation(f"i{k}", n) for k, n in enumerate(numbers, 1)]
                client.mutate(
                    mutations, idempotency_key=str(uuid.uuid4()), operation_name="CreateItems"
                )
                first += chunk
        except MondayError as error:
            status = f"stopped: {type(error).__name__} {error.code}"
    run = collect(label, budget, status, monday, started, wall_started)
    common = ", ".join(f"{n} x {size}" for size, n in sizes.most_common(3))
    run.notes.append(f"{'fixed' if fixed else 'sized'}: {common} create_item a request")
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
        ("windows touched", f"{run.windows:,} (at the least {run.least_windows:,})"),
        ("complexity used", f"{run.complexity:,} points"),
        ("budget used", percent(run.full_window_share)),
        ("all windows", percent(run.share)),
        ("429s sent", f"{sum(run.throttled.values())} ({throttled or 'none'})"),
        ("requests", f"{run.requests:,}"),
        ("retries", f"{run.retries:,}"),
        ("paced", f"{run.paced:,.1f} s"),
        ("waited on 429s", f"{run.slept - run.paced:,.1f} s"),
        ("wall time", f"{run.wall:.1f} s"),
        ("CPU time", f"{run.cpu:.1f} s"),
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
    print("# budget used       = complexity used / (budget x windows waited out): every")
    print("#                     window but the last (points used in the last are budget -")
    print("#                     `after` of the last answer); n/a when a 429 was sent")
    print("# all windows       = complexity used / (budget x windows touched), windows touched")
    print("#                     = floor(simulated elapsed / window) + 1: the last, partly")
    print("#                     needed one too (at the least: complexity / budget, rounded up)")


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
    parser.add_argument(
        "--plan", default="pro", choices=sorted(PLANS), help="the emulator's plan preset"
    )
    return parser.parse_args()


def planned_runs(
    args: argparse.Namespace, config: SyncConfig, tmp: Path
) -> list[Callable[[], Run]]:
    """The runs, in the order they are measured and printed."""
    small = Budget(args.budget, args.window, args.plan)
    preset = PLANS[args.plan]
    default = Budget(preset.complexity_budget, preset.complexity_window, args.plan)
    backlog = (args.creates, args.sizes, tmp)
    fixed = DEFAULTS.items_per_request
    return [
        lambda: sync_run(
            "sync, small budget, default chunking, --bulk never", config, small, *backlog
        ),
        lambda: sync_run(
            "sync, plan budget, default chunking, --bulk never", config, default, *backlog
        ),
        lambda: direct_run("client.mutate, small budget, sized", small, args.creates, None),
        lambda: direct_run("client.mutate, small budget, fixed 50", small, args.creates, fixed),
        lambda: direct_run("client.mutate, plan budget, sized", default, args.creates, None),
    ]


def mutations_only(config: SyncConfig) -> SyncConfig:
    """The default settings with import jobs off: this benchmark measures mutation pacing."""
    delivery = config.delivery.model_copy(update={"bulk": BulkConfig(mode="never")})
    return config.model_copy(update={"delivery": delivery})


def main() -> None:
    args = parse_args()
    config = mutations_only(load_builtin_config())
    costs = measure_costs(config)
    print_header(costs)
    with tempfile.TemporaryDirectory() as directory:
        for measure in planned_runs(args, config, Path(directory)):
            print_run(measure())


if __name__ == "__main__":
    main()
