"""Benchmark: what one bulk import job costs the emulator itself (issue 13).

Runs, in-process on a ``ManualClock``, one ``ingest_items`` job of ``--items`` item rows each
followed by ``--sizes`` subitem rows (a file of ``items * (1 + sizes)`` rows), then one job of
``--upserts`` rows created and a second ``UPSERT`` job over the same keys. For each job it
prints the rows, the outcome counts, the modelled processing time on the emulator's clock
(``Limits.bulk_job_seconds`` + rows / ``bulk_rows_per_second``), and the real wall and CPU
seconds the emulator spent on the upload and on applying the rows. Prints figures; asserts
nothing.

    .venv/bin/python bench/emulator_import.py --items 2000 --sizes 4 --upserts 3000
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import shlex
import sys
import time
from typing import Any

import httpx

from ordersync.clock import ManualClock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Limits

KEY = "text_mkr5wya6"
PRICE = "numeric_mkr5cact"
QTY = "numeric_mkra7j8e"
INGEST = """mutation ($board: ID!, $match: OnMatchInput) {
  ingest_items(board_id: $board, group_id: "topics", on_match: $match) { job_id upload_url }
}"""
STATUS = """query ($job: ID!) { fetch_job_status(job_id: $job) { ... on ItemsJobStatus {
  status counts { submitted invalid skipped created updated failed } } } }"""


def item_file(items: int, sizes: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", KEY, "name.subitem", f"{QTY}.subitem"])
    for n in range(items):
        writer.writerow([f'Line {n}, "quoted" 😀', f"K-{n}", "", ""])
        for size in range(sizes):
            writer.writerow(["", "", f"Size {size}", str(size + 1)])
    return buffer.getvalue().encode()


def upsert_file(rows: int, price: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", KEY, PRICE])
    writer.writerows([f"Upsert {n}", f"U-{n}", str(price)] for n in range(rows))
    return buffer.getvalue().encode()


def run_job(
    client: httpx.Client, clock: ManualClock, limits: Limits, body: bytes, match: Any
) -> None:
    start = client.post(
        "/v2", json={"query": INGEST, "variables": {"board": CMS_BOARD_ID, "match": match}}
    )
    job = start.json()["data"]["ingest_items"]
    wall, cpu = time.perf_counter(), time.process_time()
    upload = client.put(job["upload_url"], content=body, headers={"Content-Type": "text/csv"})
    assert upload.status_code == 200, upload.text
    upload_wall, upload_cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = body.count(b"\n") - 1
    modelled = limits.bulk_job_seconds + rows / (limits.bulk_rows_per_second or float("inf"))
    clock.advance(modelled + 1)
    wall, cpu = time.perf_counter(), time.process_time()
    status = client.post("/v2", json={"query": STATUS, "variables": {"job": job["job_id"]}})
    apply_wall, apply_cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = status.json()["data"]["fetch_job_status"]
    kind = "upsert" if match else "create"
    print(
        f"{kind:6} rows {rows:6,} -> {result['status']} {result['counts']}; modelled "
        f"{modelled:,.1f} s on the emulator's clock; upload {upload_wall:.2f} s wall "
        f"{upload_cpu:.2f} s CPU; applying {apply_wall:.2f} s wall {apply_cpu:.2f} s CPU"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--sizes", type=int, default=4)
    parser.add_argument("--upserts", type=int, default=3000)
    args = parser.parse_args(argv)
    print(f"command: .venv/bin/python bench/emulator_import.py {shlex.join(sys.argv[1:])}")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    clock = ManualClock()
    limits = Limits(bulk_ingest_rows=max(10_000, args.items * (1 + args.sizes), args.upserts))
    emulator = Emulator(clock=clock, limits=limits)
    with httpx.Client(transport=emulator.transport(), base_url="https://api.monday.com") as client:
        run_job(client, clock, limits, item_file(args.items, args.sizes), None)
        clock.advance(3_600)  # a fresh hour of the 19,000 items budget
        run_job(client, clock, limits, upsert_file(args.upserts, 1), None)
        clock.advance(3_600)
        match = {"match_column_id": KEY, "behaviour": "UPSERT"}
        run_job(client, clock, limits, upsert_file(args.upserts, 2), match)
    emulator.close()


if __name__ == "__main__":
    main()
