"""Create or upgrade ordersync's tables in place with Alembic (``ordersync init-db``).

Each set of table names (``[tables]`` in the configuration) has its own Alembic version table:
the default set keeps ``ordersync_alembic_version``, a custom set gets one named after its
batches table. So ``init-db`` with a custom set creates that set even when the database already
holds the default one (or another custom set): two boards, or two environments, can keep their
own tables side by side in one database.
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ordersync.settings import TablesConfig

VERSION_TABLE = "ordersync_alembic_version"


def version_table(names: TablesConfig | None = None) -> str:
    """The Alembic version table of a set of table names (at most 63 characters: PostgreSQL)."""
    names = names or TablesConfig()
    if names.batches == TablesConfig().batches:
        return VERSION_TABLE
    readable = re.sub(r"[^a-z0-9]+", "_", names.batches.lower()).strip("_")[:20]
    digest = hashlib.sha256(names.batches.encode()).hexdigest()[:8]
    return f"{VERSION_TABLE}_{readable}_{digest}"


def _alembic_config(connection: sa.Connection, names: TablesConfig) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "ordersync.db:migrations")
    cfg.attributes["connection"] = connection
    cfg.attributes["table_names"] = names
    cfg.attributes["version_table"] = version_table(names)
    return cfg


def upgrade(engine: sa.Engine, names: TablesConfig | None = None, revision: str = "head") -> str:
    """Bring ordersync's tables to ``revision``; returns the revision now in force."""
    names = names or TablesConfig()
    with engine.begin() as connection:
        config = _alembic_config(connection, names)
        recorded = _recorded_in_shared_table(connection, names)
        if recorded is not None:
            command.stamp(config, recorded)
        command.upgrade(config, revision)
    return current_revision(engine, names) or "base"


def _recorded_in_shared_table(connection: sa.Connection, names: TablesConfig) -> str | None:
    """The revision of a custom set that an older ordersync recorded in the shared version
    table (it had one for every set): when the set's tables exist without their own version
    table and the default set does not (so the shared table can only describe this set)."""
    own = version_table(names)
    if own == VERSION_TABLE:
        return None
    inspector = sa.inspect(connection)
    if (
        inspector.has_table(own)
        or not inspector.has_table(names.batches)
        or not inspector.has_table(VERSION_TABLE)
        or inspector.has_table(TablesConfig().batches)
    ):
        return None
    shared = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return shared.get_current_revision()


def current_revision(engine: sa.Engine, names: TablesConfig | None = None) -> str | None:
    """The revision the tables named ``names`` (default set: ``None``) are at."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": version_table(names)}
        )
        return context.get_current_revision()


def head_revision() -> str:
    with sa.create_engine("sqlite://").connect() as connection:
        script = ScriptDirectory.from_config(_alembic_config(connection, TablesConfig()))
        head = script.get_current_head()
    assert head is not None
    return head
