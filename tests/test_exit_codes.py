"""Exit codes come from ``ExitCode`` only: the worst of several, and no bare integer where a
command's exit code is made (an AST scan of the package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ordersync
from ordersync.errors import ExitCode

PACKAGE = Path(ordersync.__file__).parent


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], ExitCode.OK),
        ([0, 0], ExitCode.OK),
        ([0, 3, 0], ExitCode.REJECTED),
        ([3, 1, 0], ExitCode.FAILED),
        ([2, 3], ExitCode.USAGE),
        ([2, 1], ExitCode.FAILED),
    ],
)
def test_the_worst_of_several(codes: list[int], worst: ExitCode) -> None:
    assert ExitCode.worst(codes) is worst


def test_the_codes_schedulers_read() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3]
    assert f"{ExitCode.REJECTED}" == "3"  # printed and dumped to JSON as the number


def _bare_integers() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "emulator" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.FunctionDef) and node.name == "exit_code":
                values = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "exit"
            ):
                values = list(node.args)
            found += [
                f"{path.relative_to(PACKAGE)}:{v.lineno}"
                for v in values
                if isinstance(v, ast.Constant) and isinstance(v.value, int)
            ]
    return found


def test_no_exit_code_is_a_bare_integer() -> None:
    assert _bare_integers() == []
