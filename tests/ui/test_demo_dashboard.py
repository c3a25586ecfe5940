"""`ordersync demo` keeps its database and ends with the command that shows it in the dashboard."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from werkzeug.test import Client

from ordersync.config import load_builtin_config
from ordersync.db import Database
from ordersync.demo import run_demo
from ordersync.ui import Dashboard


def test_the_demo_ends_with_its_dashboard_command(tmp_path: Path) -> None:
    out = io.StringIO()
    run_demo(Console(file=out, width=200), workdir=tmp_path)
    last = out.getvalue().strip().splitlines()[-1]
    match = re.fullmatch(r"see it in the browser: ORDERSYNC_DATABASE_URL=(\S+) ordersync ui", last)
    assert match, last
    db = Database.connect(match[1])
    try:
        html = Client(Dashboard(db, load_builtin_config())).get("/").get_data(as_text=True)
    finally:
        db.engine.dispose()
    assert "GREYSON" in html and "RHONE" in html and "COMPLETED_WITH_ERRORS" in html

    again = io.StringIO()
    run_demo(Console(file=again, width=200), workdir=tmp_path)  # a kept database starts afresh
    assert "items created 69" in again.getvalue()
