"""Alembic environment for ordersync's own tables.

Run through ``ordersync.db.migrate.upgrade`` (``ordersync init-db``), which hands over an open
connection and the configured table names in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from ordersync.db.tables import build_tables

config = context.config
connection = config.attributes["connection"]
tables = build_tables(config.attributes["table_names"])

context.configure(
    connection=connection,
    target_metadata=tables.metadata,
    version_table=config.attributes["version_table"],
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
