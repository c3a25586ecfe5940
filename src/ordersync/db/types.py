"""Column types that must read the same on SQLite, PostgreSQL and SQL Server."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

# A bare UnicodeText compiles to the deprecated NTEXT on mssql until the dialect has seen a
# server version; NVARCHAR(max) is what SQL Server wants for long text.
LONG_TEXT = sa.UnicodeText().with_variant(mssql.NVARCHAR(), "mssql")
