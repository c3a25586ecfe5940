"""bench/mutants.py stays usable: every mutant's snippet is found exactly once in the code as it
is now, and every test it names exists (a mutant that no longer applies measures nothing)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mutants_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutants", ROOT / "bench" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


MUTANTS = _mutants_script()


@pytest.mark.parametrize("mutant", MUTANTS.MUTANTS, ids=lambda m: m.name)
def test_the_mutant_applies_to_the_code_as_it_is(mutant: object) -> None:
    outcome = MUTANTS.run_mutant(mutant, argparse.Namespace(check=True))
    assert outcome.verdict == "applies", outcome.detail
    for test in mutant.tests:  # type: ignore[attr-defined]
        assert (ROOT / test.split("::")[0]).exists(), test


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in MUTANTS.MUTANTS]
    assert len(names) == len(set(names))
