"""ordersync's database layer: engine, tables, migrations, lock."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ordersync.db.engine import make_engine, upsert, utcnow
from ordersync.db.tables import Tables, build_tables
from ordersync.settings import TablesConfig

__all__ = ["Database", "Tables", "build_tables", "make_engine", "upsert", "utcnow"]


@dataclass(frozen=True)
class Database:
    """An engine and ordersync's tables under their configured names."""

    engine: sa.Engine
    tables: Tables

    @classmethod
    def connect(cls, url: str, names: TablesConfig | None = None) -> Database:
        return cls(make_engine(url), build_tables(names))
