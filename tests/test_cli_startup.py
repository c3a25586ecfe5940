"""``ordersync --help`` and ``--version`` start without the heavy libraries (what they load is
checked, not how long they take: bench/cli_startup.py measures that)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import ordersync

HEAVY = ("sqlalchemy", "alembic", "httpx", "graphql", "pydantic", "rich")
PROBE = """
import json, sys
sys.argv = ["ordersync", *json.loads(sys.argv[1])]
from ordersync.cli import main
code = 0
try:
    main()
except SystemExit as exit_:
    code = exit_.code
print(json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sync", "--help"]])
def test_help_and_version_load_no_heavy_module(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 0, "heavy": []}, done.stdout
    if args == ["--version"]:
        assert ordersync.__version__ in done.stdout


def test_the_version_shown_is_the_package_version() -> None:
    """``--version`` prints ``ordersync.__version__`` (reading package metadata costs time)."""
    assert ordersync.__version__ == importlib.metadata.version("ordersync")
