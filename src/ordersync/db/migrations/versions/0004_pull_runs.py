"""0004: a record of each pull (counts and the report's samples: drift, items made by hand,
items gone from monday), for the dashboard.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.db.tables import PULL_COUNTERS
from ordersync.db.types import LONG_TEXT
from ordersync.settings import TablesConfig

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    n = _names()
    op.create_table(
        n.pull_runs,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in PULL_COUNTERS
        ),
        sa.Column("report", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(
        f"ix_{n.pull_runs}_board", n.pull_runs, ["board_id", "finished_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table(_names().pull_runs)
