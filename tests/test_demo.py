"""`ordersync demo`: the scripted run a new user sees first."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from ordersync.demo import run_demo


def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = io.StringIO()
    first, again, bad = run_demo(Console(file=out, width=120), workdir=tmp_path)
    assert first.exit_code == 0 and first.report is not None
    assert (first.report.items_created, first.report.subitems_created) == (69, 264)
    assert again.status == "NO_CHANGES"
    assert bad.exit_code == 3
    text = out.getvalue()
    assert "GREYSON 2025 FALL" in text and "DUPLICATE_KEY" in text
    assert "import job" in text and "COMPLETED" in text  # the first load went in bulk
