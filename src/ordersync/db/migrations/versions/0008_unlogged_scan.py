"""0008: the scan table is UNLOGGED on PostgreSQL: per-plan scratch (each plan deletes its rows
before it commits), so writing it to the WAL only costs time (a re-plan of 100,000 unchanged
lines scans them all). After a crash PostgreSQL empties it, and it is not replicated to
standbys; neither matters for rows no plan outlives. Other databases keep it as it is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import context, op

from ordersync.settings import TablesConfig

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _scan() -> str:
    names: TablesConfig = context.config.attributes["table_names"]
    return op.get_context().dialect.identifier_preparer.quote(names.scan)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_scan()} SET UNLOGGED")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_scan()} SET LOGGED")
