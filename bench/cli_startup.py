"""Benchmark: how long `ordersync --help`, `--version` and `status` take to start and finish.

Each command runs as a fresh process (as a person or a scheduler runs it), ``--runs`` times; the
wall time of each run is measured here and the CPU time (user + system) of the child is read
from ``resource.getrusage(RUSAGE_CHILDREN)``; medians (and minima) are printed. ``status``
reads an empty SQLite database that ``init-db`` prepared first, then the same database holding
ten batch records (its table path). Also prints the modules ``import ordersync.cli`` pulls in
that the commands keep lazy (sqlalchemy, alembic, httpx, graphql, rich): there should be none.
Prints figures; asserts nothing (the target is 0.3 s on an idle machine).

    .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAZY = ("sqlalchemy", "alembic", "httpx", "graphql", "rich", "pydantic")
COMMANDS = (["--help"], ["--version"], ["status"])
BATCHES = 10  # batch records written for the second ``status`` run


def _add_batches(database_url: str) -> None:
    """Ten finished batch records, so that ``status`` prints its table."""
    import uuid
    from datetime import datetime

    from ordersync.db import Database

    db = Database.connect(database_url)
    with db.engine.begin() as connection:
        for n in range(BATCHES):
            connection.execute(
                db.tables.batches.insert().values(
                    batch_id=str(uuid.uuid4()), board_id=4755559751, mode="test",
                    customer="GREYSON", po_number=str(4700 + n), status="BATCH_COMPLETED",
                    created_at=datetime(2026, 12, 1, 8, n),
                )
            )  # fmt: skip
    db.engine.dispose()


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ordersync.cli", *args], env=env, check=True, capture_output=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ORDERSYNC_DATABASE_URL": f"sqlite:///{Path(tmp) / 'o.db'}"}
        subprocess.run(
            [sys.executable, "-m", "ordersync.cli", "init-db"], env=env, check=True,
            capture_output=True,
        )  # fmt: skip
        probe = (
            "import sys, ordersync.cli; print(' '.join(sorted(m for m in %r if m in sys.modules)))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe % (LAZY,)], capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"{platform.node()} · {platform.processor() or platform.machine()} · "
              f"{os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · "
              f"Python {platform.python_version()}")  # fmt: skip
        commit = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"commit {commit or '?'} · {options.runs} runs each · "
              f"command: {sys.executable} bench/cli_startup.py --runs {options.runs}")  # fmt: skip
        print(f"heavy modules imported by `import ordersync.cli`: {loaded or 'none'}")
        print(f"{'command':<12} {'median wall s':>14} {'min wall s':>11} {'median CPU s':>13} "
              f"{'min CPU s':>10}")  # fmt: skip
        cases = [(" ".join(args), args) for args in COMMANDS]
        for name, args in [*cases, ("status (10)", ["status"])]:
            if name == "status (10)":
                _add_batches(env["ORDERSYNC_DATABASE_URL"])
            runs = [_timed(args, env) for _ in range(options.runs)]
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            print(
                f"{name:<12} {statistics.median(walls):>14.3f} {min(walls):>11.3f} "
                f"{statistics.median(cpus):>13.3f} {min(cpus):>10.3f}"
            )


if __name__ == "__main__":
    main()
