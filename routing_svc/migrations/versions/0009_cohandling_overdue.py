"""routing: a co-handling task (协办) past its deadline is marked once (the scheduler's cohandling_overdue queue)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
SCHEMA = "routing"


def upgrade() -> None:
    op.add_column("cohandling_tasks", sa.Column("overdue_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_index("ix_cohandling_due", "cohandling_tasks", ["due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('open', 'accepted') AND overdue_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_cohandling_due", table_name="cohandling_tasks", schema=SCHEMA)
    op.drop_column("cohandling_tasks", "overdue_at", schema=SCHEMA)
