"""routing: the 承办人 (the member of the handling unit who holds an assignment)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "routing"


def upgrade() -> None:
    op.add_column("assignments", sa.Column("assignee_id", sa.String(128)), schema=SCHEMA)
    op.add_column("assignments", sa.Column("assignee_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_index("ix_assignments_assignee_open", "assignments", ["assignee_id"], schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('assigned', 'accepted', 'suspended')"))


def downgrade() -> None:
    op.drop_index("ix_assignments_assignee_open", "assignments", schema=SCHEMA)
    op.drop_column("assignments", "assignee_at", schema=SCHEMA)
    op.drop_column("assignments", "assignee_id", schema=SCHEMA)
