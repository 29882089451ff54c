"""notify: the 包案领导 of a case (told of its escalations, overdue clocks and extension requests)

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
SCHEMA = "notify"


def upgrade() -> None:
    op.add_column("cases", sa.Column("leader_id", sa.String(128)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("cases", "leader_id", schema=SCHEMA)
