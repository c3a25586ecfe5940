"""Slicing a list of values for requests and statements that take only so many at a time.

``itertools.batched`` arrives with Python 3.12; until then this is the one place that slices:
monday's reads cut ids and values by monday's limits per request, and
``db.engine.parameter_chunks`` cuts ids and keys by what one SQL statement may bind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size`` (the last one shorter).

    Example:
        >>> list(chunked([1, 2, 3, 4, 5], 2))
        [[1, 2], [3, 4], [5]]
    """
    for start in range(0, len(values), size):
        yield values[start : start + size]
