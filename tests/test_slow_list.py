"""The ``SLOW`` list in conftest names tests that exist (a renamed test would silently drop
back into ``make test-fast``), and every test that starts a subprocess is on it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import SLOW, TESTS


def _tests_in(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text("utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_listed_module_and_test_exists() -> None:
    for module, names in SLOW.items():
        path = TESTS / module
        assert path.is_file(), f"SLOW lists {module}, which does not exist"
        missing = sorted(set(names or ()) - set(_tests_in(path)))
        assert not missing, f"SLOW lists {missing} in {module}: no such tests"


def test_every_test_starting_a_subprocess_is_slow() -> None:
    unlisted = []
    for path in sorted(TESTS.rglob("test_*.py")):
        module = path.relative_to(TESTS).as_posix()
        for name, node in _tests_in(path).items():
            calls = {
                f"{n.func.value.id}.{n.func.attr}"
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
            }
            if calls & {"subprocess.run", "subprocess.Popen"} and not (
                module in SLOW and (SLOW[module] is None or name in (SLOW[module] or ()))
            ):
                unlisted.append(f"{module}::{name}")
    allowed = {"test_public_api.py::test_import_ordersync_does_not_load_the_heavy_modules"}
    assert sorted(set(unlisted) - allowed) == [], "add these to SLOW in tests/conftest.py"
