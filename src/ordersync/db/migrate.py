"""Create or upgrade ordersync's tables in place with Alembic (``ordersync init-db``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ordersync.config import TablesConfig

VERSION_TABLE = "ordersync_alembic_version"


def _alembic_config(connection: sa.Connection, names: TablesConfig) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "ordersync.db:migrations")
    cfg.attributes["connection"] = connection
    cfg.attributes["table_names"] = names
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def upgrade(engine: sa.Engine, names: TablesConfig | None = None, revision: str = "head") -> str:
    """Bring ordersync's tables to ``revision``; returns the revision now in force."""
    names = names or TablesConfig()
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection, names), revision)
    return current_revision(engine) or "base"


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    with sa.create_engine("sqlite://").connect() as connection:
        script = ScriptDirectory.from_config(_alembic_config(connection, TablesConfig()))
        head = script.get_current_head()
    assert head is not None
    return head
