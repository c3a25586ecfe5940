"""0005: raw digests (``raw_digest.py``): a digest of the source row that built each mirror
item's row hash, carried by staged items and the scan table, so a plan skips unchanged rows
before normalising them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.settings import TablesConfig

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def _tables() -> tuple[str, ...]:
    n = _names()
    return (n.items, n.staged_items, n.scan)


def upgrade() -> None:
    for table in _tables():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("raw_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in _tables():
        with op.batch_alter_table(table) as batch:
            batch.drop_column("raw_digest")
