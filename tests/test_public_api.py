"""The library API: ``ordersync.__all__`` (after httpx's exported-members test).

Every exported name imports and is documented; nothing public on the package is left out of
``__all__``; every error class a caller can catch is exported; and ``import ordersync`` stays
cheap (the heavy modules load on first use).
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import ordersync
import ordersync.errors


@pytest.mark.parametrize("name", ordersync.__all__)
def test_every_exported_name_imports_and_is_documented(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from ordersync import {name}", namespace)
    value = namespace[name]
    assert value is getattr(ordersync, name)
    if name == "__version__":
        assert isinstance(value, str) and value
        return
    assert inspect.getdoc(value), f"ordersync.{name} has no docstring"
    assert value.__module__.startswith("ordersync."), value.__module__


def test_all_is_sorted_and_nothing_public_is_left_out() -> None:
    for name in ordersync.__all__:
        getattr(ordersync, name)  # load every lazy name
    public = {
        name
        for name, value in vars(ordersync).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert sorted(public - set(ordersync.__all__)) == [], "public but not in __all__"
    assert ordersync.__all__ == sorted(ordersync.__all__)
    assert set(dir(ordersync)) >= set(ordersync.__all__)


def test_every_error_a_caller_can_catch_is_exported() -> None:
    errors = {
        name
        for name, value in vars(ordersync.errors).items()
        if inspect.isclass(value) and issubclass(value, ordersync.errors.OrderSyncError)
    }
    assert errors <= set(ordersync.__all__), sorted(errors - set(ordersync.__all__))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        ordersync.nothing_here  # noqa: B018


def test_import_ordersync_does_not_load_the_heavy_modules() -> None:
    """A fresh interpreter (one short subprocess: cheap enough for the fast suite)."""
    probe = (
        "import sys, ordersync; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'httpx', 'pydantic', 'rich') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
