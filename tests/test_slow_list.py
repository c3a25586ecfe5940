"""The ``SLOW`` list in conftest names tests that exist (a renamed test would silently drop
back into ``make test-fast``), a glob of cases marks at least one case, and every test that
starts a subprocess is on it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import MATCHED, SLOW, TESTS


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
        functions = {name.partition("[")[0] for name in names or ()} - {"*"}
        missing = sorted(functions - set(_tests_in(path)))
        assert not missing, f"SLOW lists {missing} in {module}: no such tests"
        globs = [name for name in names or () if "[" in name]
        assert all(glob.endswith("]") for glob in globs), f"SLOW: {globs} in {module}"


def test_every_glob_of_cases_marks_a_case() -> None:
    """Checked for the modules collected with this test (``make test``, ``make test-fast``):
    a renamed parameter would leave a glob that marks nothing."""
    marks_nothing = sorted(f"{module}::{glob}" for (module, glob), n in MATCHED.items() if not n)
    assert not marks_nothing, "SLOW names cases that no collected test has"


def test_every_test_starting_a_subprocess_is_slow() -> None:
    unlisted = []
    for path in sorted(TESTS.rglob("test_*.py")):
        module = path.relative_to(TESTS).as_posix()
        whole = {n for n in SLOW.get(module) or () if "[" not in n}  # all cases slow
        for name, node in _tests_in(path).items():
            calls = {
                f"{n.func.value.id}.{n.func.attr}"
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
            }
            if calls & {"subprocess.run", "subprocess.Popen"} and not (
                module in SLOW and (SLOW[module] is None or name in whole)
            ):
                unlisted.append(f"{module}::{name}")
    allowed = {"test_public_api.py::test_import_ordersync_does_not_load_the_heavy_modules"}
    assert sorted(set(unlisted) - allowed) == [], "add these to SLOW in tests/conftest.py"
