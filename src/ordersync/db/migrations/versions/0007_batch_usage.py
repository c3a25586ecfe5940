"""0007: what each batch cost on monday, for ``/metrics`` and ``status``: answers with HTTP 429
(``throttled``) and complexity points spent (``complexity_spent``).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.settings import TablesConfig

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

USAGE = ("throttled", "complexity_spent")  # batch_counters' usage counters, as made here


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    with op.batch_alter_table(_names().batches) as batch:
        for name in USAGE:
            batch.add_column(
                sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)
            )


def downgrade() -> None:
    with op.batch_alter_table(_names().batches) as batch:
        for name in reversed(USAGE):
            batch.drop_column(name)
