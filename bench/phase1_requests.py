"""Benchmark: the Phase 1 reference run (GREYSON PO 4755 → 69 items, 264 subitems).

Runs `ordersync sync` against the emulator over real HTTP with injected latency per request,
on a fresh SQLite file (and PostgreSQL when --pg-url is given), and prints the number of HTTP
requests, mutations and the wall time. Prints figures; asserts nothing.

    .venv/bin/python bench/phase1_requests.py [--latency 0.15] [--pg-url postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from ordersync.config import load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table, fill_demo_orders
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.sync import run_sync


def measure(database_url: str, latency: float) -> dict[str, object]:
    config = load_builtin_config()
    db = Database.connect(database_url)
    upgrade(db.engine)
    fill_demo_orders(db.engine, create_source_table(db.engine, replace=True))
    emulator = Emulator(seed=True)
    with emulator.serve(latency=latency) as server, MondayClient(server.url, "bench") as client:
        started = time.perf_counter()
        outcome = run_sync(db, config, client, Scope("GREYSON", "4755"))
        elapsed = time.perf_counter() - started
    db.engine.dispose()
    report = outcome.report
    assert report is not None
    return {
        "status": outcome.status,
        "items": report.items_created,
        "subitems": report.subitems_created,
        "http_requests": emulator.stats.requests,
        "mutations": sum(emulator.stats.mutations.values()),
        "seconds": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added per request")
    parser.add_argument("--pg-url", help="also measure on this PostgreSQL database")
    args = parser.parse_args()
    print(f"# phase 1 reference run, {args.latency * 1000:.0f} ms latency per request")
    machine = f"{platform.node()} {platform.machine()} {platform.python_version()}"
    print(f"# {machine} {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        schema = None
        if args.pg_url:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(args.pg_url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            targets["postgresql"] = f"{args.pg_url}?options=-csearch_path%3D{schema}"
        try:
            for name, url in targets.items():
                figures = measure(url, args.latency)
                print(f"{name:<11} " + "  ".join(f"{k}={v}" for k, v in figures.items()))
        finally:
            if schema:
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(
        "reproduce: .venv/bin/python bench/phase1_requests.py --latency 0.15 "
        "--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


if __name__ == "__main__":
    main()
