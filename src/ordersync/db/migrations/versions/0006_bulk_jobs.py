"""0006: the bulk journal (``MON_BulkJobs``): each monday import job, written before its file
is uploaded, so that a crash at any step is resumed by polling the known job.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import context, op

from ordersync.db.tables import bulk_job_columns
from ordersync.settings import TablesConfig

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    n = _names()
    op.create_table(n.bulk_jobs, *bulk_job_columns())
    op.create_index(
        f"ix_{n.bulk_jobs}_board_state", n.bulk_jobs, ["board_id", "state"], unique=False
    )


def downgrade() -> None:
    op.drop_table(_names().bulk_jobs)
