"""Raw digests: knowing, before a source row is normalised, that its line cannot have changed.

Building a line (``lines.LineBuilder``) is most of what a plan costs, and most lines of a large
source do not change between two syncs. A raw digest lets ``plan`` skip them: it is the sha256
of

- the *config digest*: everything a line is built from besides the row (the source's key,
  customer, PO and season columns, the size columns found, the items mapping with its name,
  group and cancelled rules, the customer aliases, the mirror's column limits and
  ``LINE_RULES``, bumped whenever line building changes what it makes of a row);
- the row's values as read (``repr`` of the typed values, in read-column order: a different
  spelling of the same value only costs a rebuild, never a missed change);
- the row hash the line built from them had.

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
from collections.abc import Mapping

from ordersync.config import SyncConfig
from ordersync.push.lines import LIMITS
from ordersync.push.normalize import clean_text, order_key

LINE_RULES = 1  # bump when lines.py / normalize.py change what a row becomes


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


class RawDigests:
    """Digests of source rows under one configuration (the config digest taken once)."""

    def __init__(self, config: SyncConfig, size_columns: tuple[str, ...]) -> None:
        self.prefix = config_digest(config, size_columns).encode("ascii")
        self.key_columns = tuple(config.source.key_columns)

    def order_key(self, row: Mapping[str, object]) -> str | None:
        """The row's order key as its line would have it, or ``None`` when a part is empty."""
        parts = tuple(clean_text(row.get(column)) for column in self.key_columns)
        if any(part is None for part in parts):
            return None
        return order_key(tuple(str(part) for part in parts))

    def values(self, row: Mapping[str, object]) -> bytes:
        """The row's values in canonical form (hashed once, bound to row hashes after)."""
        return hashlib.sha256(repr(tuple(row.values())).encode("utf-8")).digest()

    def digest(self, values: bytes, row_hash: str) -> str:
        """The raw digest of a row's ``values`` that built a line of ``row_hash``."""
        return hashlib.sha256(self.prefix + values + row_hash.encode("ascii")).hexdigest()
