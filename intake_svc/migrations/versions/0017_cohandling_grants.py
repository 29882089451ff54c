"""intake: co-handling grants — a member holding a 协办 task on a case reads that case's file

Revision ID: 0017_cohandling_grants
Revises: 0016_sessions
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_cohandling_grants"
down_revision = "0016_sessions"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "cohandling_grants",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("member_id", sa.String(128), primary_key=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("cohandling_grants", schema=SCHEMA)
