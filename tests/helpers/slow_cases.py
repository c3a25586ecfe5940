"""How many collected tests each glob of cases in conftest's ``SLOW`` marked this session:
(module, entry) → count, filled by conftest while collecting, read by ``test_slow_list``.

A module of its own so that both see one dict: pytest loads conftest as ``tests.conftest``
while a test's ``from conftest import …`` loads a second copy."""

from __future__ import annotations

MATCHED: dict[tuple[str, str], int] = {}
