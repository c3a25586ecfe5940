"""`ordersync serve` also answers the dashboard at /ui and /metrics (with the UI token when set),
while webhooks still reach the receiver."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from helpers.support import demo_database
from ordersync.emulator import Emulator

ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]
TOKEN = "serve-ui-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status(url: str, **headers: str) -> int | None:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code
    except httpx.HTTPError:
        return None


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll the subprocess's port (nothing in this process to wait on)."""
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while time.monotonic() < deadline and process.poll() is None:
        if status(url) is not None:
            return
        pause.wait(0.05)
    out, err = process.communicate(timeout=10) if process.poll() is not None else ("", "")
    raise AssertionError(f"ordersync serve did not answer: {out}\n{err}")


def test_serve_mounts_the_dashboard(sqlite_url: str, tmp_path: Path) -> None:
    demo_database(sqlite_url).engine.dispose()
    port = free_port()
    with Emulator(seed=True).serve(host="127.0.0.1", port=0) as monday:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
        env.update(
            ORDERSYNC_DATABASE_URL=sqlite_url,
            MONDAY_API_URL=monday.url,
            MONDAY_API_TOKEN="t",
            ORDERSYNC_UI_TOKEN=TOKEN,
            HOME=str(tmp_path),
        )
        serving = subprocess.Popen(
            [*ENTRY, "serve", "--insecure", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/ui/", serving)
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert status(f"{base}/ui/") == 401 and status(f"{base}/metrics") == 401
            page = httpx.get(f"{base}/ui/", headers=bearer, timeout=5)
            assert page.status_code == 200 and 'href="/ui/rejections"' in page.text
            metrics = httpx.get(f"{base}/metrics", headers=bearer, timeout=5)
            assert "ordersync_webhook_events_pending 0.0" in metrics.text
            challenge = httpx.post(f"{base}/monday", json={"challenge": "c"}, timeout=5)
            assert challenge.json() == {"challenge": "c"}  # the receiver still answers
        finally:
            serving.terminate()
            serving.communicate(timeout=30)
