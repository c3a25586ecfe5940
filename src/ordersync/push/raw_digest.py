"""Raw digests: knowing, before a source row is normalised, that its line cannot have changed.

Building a line (``lines.LineBuilder``) is most of what a plan costs, and most lines of a large
source do not change between two syncs. A raw digest lets ``plan`` skip them: it is the sha256
of the text ``<config digest><row digest><row hash>``, where

- the *config digest* covers everything a line is built from besides the row (the source's
  key, customer, PO and season columns, the size columns found, the items mapping with its
  name, group and cancelled rules, the customer aliases, the mirror's column limits and
  ``LINE_RULES``, bumped whenever line building changes what it makes of a row), and names
  how the row digest is taken;
- the *row digest* is a digest of the row's values as read, in read-column order. Where the
  database can hash (``ROW_DIGESTS``: PostgreSQL, SQL Server) the database takes it, so an
  unchanged row never travels to Python at all; elsewhere (SQLite) Python takes it from the
  ``repr`` of the typed values. A different spelling of the same value only costs a rebuild,
  never a missed change;
- the *row hash* is the hash of the line those values built.

The digest is kept in the mirror next to the row hash (``raw_digest``). A row is unchanged when
the digest of (config, its values, *the mirror's current row hash*) equals the mirror's digest:
so a cleared row hash (a rejected delivery, drift found by ``pull``), a delivery that has not
happened yet, or a changed mapping all make the digest miss, and the line is built and diffed
as usual. The row hash stays the truth for what was pushed; a digest only ever says "this row
built that hash before". Lines with warnings (values skipped under ``skip_value``) get no
digest, so their warnings are recorded on every plan as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.push.lines import LIMITS
from ordersync.push.normalize import clean_text, order_key

LINE_RULES = 1  # bump when lines.py / normalize.py change what a row becomes
ROW_DIGEST = "ordersync row digest"  # the label of the row digest column in a source read


def config_digest(config: SyncConfig, size_columns: tuple[str, ...]) -> str:
    """sha256 of every setting a line is built from (what is not in the row itself)."""
    settings = {
        "rules": LINE_RULES,
        "limits": repr(LIMITS),
        "source": config.source.model_dump(mode="json", exclude={"chunk_size"}),
        "sizes": list(size_columns),
        "items": config.items.model_dump(mode="json", exclude={"monday_owned"}),
        "customers": config.customers,
    }
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- the one definition of a digest per dialect ----------------------------------------------


def _hex_sha256_postgresql(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    return sa.func.encode(sa.func.sha256(sa.func.convert_to(text, "UTF8")), "hex")


def _hex_sha256_mssql(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    hashed = sa.func.hashbytes(sa.literal_column("'SHA2_256'"), text)
    return sa.func.lower(
        sa.func.convert(sa.literal_column("VARCHAR(64)"), hashed, sa.literal_column("2"))
    )


def _row_text_postgresql(columns: Sequence[sa.ColumnElement[object]]) -> sa.ColumnElement[str]:
    # a record's text form quotes and escapes each field, NULL as nothing: one text per row
    return sa.cast(sa.func.row(*columns), sa.UnicodeText)


def _row_text_mssql(columns: Sequence[sa.ColumnElement[object]]) -> sa.ColumnElement[str]:
    # each field 'n' (NULL) or 'v<bytes>:<text>': no two rows give one text. Styles keep what
    # CAST would round: datetime to the millisecond (126), float to 17 digits (3), money (2).
    fields: list[sa.ColumnElement[str]] = []
    for column in columns:
        style = _MSSQL_STYLES.get(type(column.type).__name__.lower())
        text = (
            sa.cast(column, sa.Unicode())
            if style is None
            else sa.func.convert(
                sa.literal_column("NVARCHAR(MAX)"), column, sa.literal_column(str(style))
            )
        )
        size = sa.cast(sa.func.datalength(text), sa.Unicode(12))
        fields.append(sa.func.coalesce(sa.literal("v", sa.Unicode) + size + ":" + text, "n"))
    joined: sa.ColumnElement[str] = fields[0]
    for field in fields[1:]:
        joined = joined + field
    return joined


_MSSQL_STYLES = {
    "datetime": 126,
    "smalldatetime": 126,
    "float": 3,
    "real": 3,
    "double": 3,
    "money": 2,
    "smallmoney": 2,
}

# dialect → (row's text, hex sha256 of a text): both taken by the database
ROW_DIGESTS: dict[str, tuple[Callable[..., sa.ColumnElement[str]], ...]] = {
    "postgresql": (_row_text_postgresql, _hex_sha256_postgresql),
    "mssql": (_row_text_mssql, _hex_sha256_mssql),
}


class RawDigests:
    """Digests of source rows under one configuration, on one database (the config digest
    taken once). ``in_database``: the database takes the row digests (``ROW_DIGESTS``)."""

    def __init__(
        self, config: SyncConfig, size_columns: tuple[str, ...], dialect: str = "sqlite"
    ) -> None:
        self.in_database = dialect in ROW_DIGESTS and len(config.source.key_columns) == 1
        self.dialect = dialect if self.in_database else "python"
        self.prefix = config_digest(config, size_columns) + ":" + self.dialect + ":"
        self.key_columns = tuple(config.source.key_columns)

    def order_key(self, row: Mapping[str, object]) -> str | None:
        """The row's order key as its line would have it, or ``None`` when a part is empty."""
        parts = tuple(clean_text(row.get(column)) for column in self.key_columns)
        if any(part is None for part in parts):
            return None
        return order_key(tuple(str(part) for part in parts))

    def values(self, row: Mapping[str, object]) -> str:
        """The row digest taken in Python (databases without ``ROW_DIGESTS``)."""
        return hashlib.sha256(repr(tuple(row.values())).encode("utf-8")).hexdigest()

    def digest(self, row_digest: str, row_hash: str) -> str:
        """The raw digest of a row (its ``row_digest``) that built a line of ``row_hash``."""
        return hashlib.sha256((self.prefix + row_digest + row_hash).encode("ascii")).hexdigest()

    def row_digest_sql(self, columns: Sequence[sa.ColumnElement[object]]) -> sa.ColumnElement[str]:
        """The row digest of the read ``columns``, taken by the database (``in_database``)."""
        row_text, sha256 = ROW_DIGESTS[self.dialect]
        return sha256(row_text(columns))

    def digest_sql(
        self, row_digest: sa.ColumnElement[str], row_hash: sa.ColumnElement[str]
    ) -> sa.ColumnElement[str]:
        """``digest`` taken by the database: the same text hashed (ASCII: the same bytes)."""
        _, sha256 = ROW_DIGESTS[self.dialect]
        text = sa.literal(self.prefix, sa.String) + row_digest + row_hash
        return sha256(sa.cast(text, sa.String) if self.dialect == "mssql" else text)
