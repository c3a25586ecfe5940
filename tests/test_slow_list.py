"""The ``SLOW`` list in conftest names tests that exist (a renamed test would silently drop
back into ``make test-fast``), a glob of cases marks at least one case, and every test that
starts a subprocess (itself, through a helper or through a fixture) is on it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import SLOW, TESTS
from helpers.slow_cases import MATCHED


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


SPAWNS = {"subprocess.run", "subprocess.Popen"}


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _spawning(path: Path, seen: dict[Path, set[str]]) -> set[str]:
    """Names of ``path``'s top-level functions (tests, fixtures, helpers) that start a
    subprocess: directly, through a function of the module or one imported from another test
    module, or through a fixture (a parameter) that does."""
    if path in seen:
        return seen[path]
    seen[path] = set()
    tree = ast.parse(path.read_text("utf-8"))
    functions = _functions(tree)
    known: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            other = TESTS / f"{node.module.replace('.', '/')}.py"
            if other.is_file():
                known |= {a.name for a in node.names} & _spawning(other, seen)
    spawning: set[str] = set()
    while True:
        found = {
            name
            for name, node in functions.items()
            if name not in spawning and _calls(node, spawning | known)
        }
        if not found:
            break
        spawning |= found
    seen[path] = spawning | known
    return seen[path]


def _calls(function: ast.FunctionDef, spawning: set[str]) -> bool:
    parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        if isinstance(callee, ast.Name) and callee.id in spawning:
            return True
        if (
            isinstance(callee, ast.Attribute)
            and isinstance(callee.value, ast.Name)
            and f"{callee.value.id}.{callee.attr}" in SPAWNS
        ):
            return True
    return bool(parameters & spawning)


def test_every_test_starting_a_subprocess_is_slow() -> None:
    unlisted: list[str] = []
    seen: dict[Path, set[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        module = path.relative_to(TESTS).as_posix()
        whole = {n for n in SLOW.get(module) or () if "[" not in n}  # all cases slow
        for name in sorted(_spawning(path, seen)):
            if name.startswith("test_") and not (
                module in SLOW and (SLOW[module] is None or name in whole)
            ):
                unlisted.append(f"{module}::{name}")
    allowed = {"test_public_api.py::test_import_ordersync_does_not_load_the_heavy_modules"}
    assert sorted(set(unlisted) - allowed) == [], "add these to SLOW in tests/conftest.py"
