"""Column types that must read the same on SQLite, PostgreSQL and SQL Server, and what they hold
(the capacities planning checks values against, read from the table definitions)."""

from __future__ import annotations

import sqlalchemy as sa

# A bare UnicodeText compiles to the deprecated NTEXT on mssql until the dialect has seen a
# server version; NVARCHAR(max) is what SQL Server wants for long text. (``sa.NVARCHAR`` is the
# class the mssql dialect exports: naming it here does not import the dialect, ~0.1 s.)
LONG_TEXT = sa.UnicodeText().with_variant(sa.NVARCHAR(), "mssql")

# What a signed integer column of each type holds (SQL Server, PostgreSQL; SQLite holds more).
_INTEGER_BITS = ((sa.SmallInteger, 16), (sa.BigInteger, 64), (sa.Integer, 32))


def text_capacity(column: sa.Column[object]) -> int | None:
    """How many characters a text column holds (``None``: unbounded, such as ``LONG_TEXT``)."""
    length = getattr(column.type, "length", None)
    return length if isinstance(length, int) else None


def integer_maximum(column: sa.Column[object]) -> int:
    """The largest value an integer column holds on every database ordersync supports."""
    for integer_type, bits in _INTEGER_BITS:
        if isinstance(column.type, integer_type):
            return 2 ** (bits - 1) - 1
    raise TypeError(f"column {column.name} is not an integer column")


def stored_length(text: str) -> int:
    """A text's length as SQL Server's NVARCHAR counts it (UTF-16 code units: 🚀 is two).

    PostgreSQL counts characters, never more than this, so a text that fits here fits there.
    """
    return len(text.encode("utf-16-le")) // 2
