"""0003: the webhook receiver and the board lock: a state per received event (PENDING,
APPLIED, QUARANTINED; the reason stays in ``error``) and, on the lock row, who holds it
(``purpose``: sync, pull or serve), the holder's process identity (boot id and start time, so
a PID in use again is not mistaken for the holder) and who waits for it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

from ordersync.settings import TablesConfig

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _names() -> TablesConfig:
    names: TablesConfig = context.config.attributes["table_names"]
    return names


def upgrade() -> None:
    n = _names()
    with op.batch_alter_table(n.webhook_events) as batch:
        batch.add_column(
            sa.Column(
                "state", sa.String(length=32), server_default=sa.text("'PENDING'"), nullable=False
            )
        )
    events = sa.table(n.webhook_events, sa.column("state"), sa.column("applied_at"))
    op.execute(events.update().where(events.c.applied_at.isnot(None)).values(state="APPLIED"))
    op.create_index(
        f"ix_{n.webhook_events}_board_state",
        n.webhook_events,
        ["board_id", "state"],
        unique=False,
    )
    with op.batch_alter_table(n.locks) as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("process", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("waiting", sa.String(length=200), nullable=True))


def downgrade() -> None:
    n = _names()
    with op.batch_alter_table(n.locks) as batch:
        for name in ("waiting", "process", "purpose"):
            batch.drop_column(name)
    op.drop_index(f"ix_{n.webhook_events}_board_state", table_name=n.webhook_events)
    with op.batch_alter_table(n.webhook_events) as batch:
        batch.drop_column("state")
