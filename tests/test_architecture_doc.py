"""docs/architecture.md's module table matches the tree: every top-level module and package of
``src/ordersync``, and every module and package inside the two direction packages (``push/``,
``pull/``), has a row, and every row names something that exists."""

from __future__ import annotations

import re
from pathlib import Path

import ordersync

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
PACKAGE = Path(ordersync.__file__).resolve().parent
DIRECTIONS = ("push", "pull")  # listed module by module; other packages get one row each


def tree_entries() -> set[str]:
    """``name.py`` for each module, ``name/`` for each package (a folder with __init__.py);
    inside the direction packages ``push/name.py`` and ``push/name/``."""
    entries: set[str] = set()
    for folder, prefix in [(PACKAGE, ""), *((PACKAGE / d, f"{d}/") for d in DIRECTIONS)]:
        entries |= {prefix + p.name for p in folder.glob("*.py") if p.name != "__init__.py"}
        entries |= {f"{prefix}{p.parent.name}/" for p in folder.glob("*/__init__.py")}
    entries -= {f"{d}/" for d in DIRECTIONS}
    return entries | {"__init__.py"}


def table_entries(text: str) -> set[str]:
    """The backticked names in the first cell of the table under ``| where |``."""
    entries: set[str] = set()
    in_table = False
    for line in text.splitlines():
        if line.startswith("| where |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table and not line.startswith("|---"):
            first_cell = line.split("|")[1]
            entries.update(re.findall(r"`([^`]+)`", first_cell))
    return entries


def test_the_module_table_lists_every_module_and_nothing_else() -> None:
    listed = table_entries(DOC.read_text("utf-8"))
    present = tree_entries()
    assert listed, f"no module table (a '| where |' header) in {DOC}"
    add, remove = sorted(present - listed), sorted(listed - present)
    assert not add and not remove, (
        f"{DOC.name}'s module table is out of date: "
        f"add rows for {add or 'nothing'}; remove rows for {remove or 'nothing'}"
    )


def test_table_entries_reads_names_from_the_first_column_only() -> None:
    text = "\n".join(
        ["intro `x.py`", "| where | what |", "|---|---|", "| `a.py`, `b/` | uses `c.py` |", ""]
    )
    assert table_entries(text) == {"a.py", "b/"}
    assert table_entries(text + "after `d.py`") == {"a.py", "b/"}
