"""analytics: assignments of a case merged after routing count in no on-time figure (按时签收率, 签收时长)

The flag is backfilled from the case facts; the rollups of days before this revision keep what they counted until a
replay (``python -m services replay analytics``) rebuilds them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.add_column("assignment_facts", sa.Column("merged", sa.Boolean, nullable=False, server_default="false"),
                  schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.assignment_facts a SET merged = true FROM {SCHEMA}.case_facts c "
               "WHERE c.case_id = a.case_id AND c.merged_into IS NOT NULL")
    op.create_index("ix_assignment_facts_case_id", "assignment_facts", ["case_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_assignment_facts_case_id", "assignment_facts", schema=SCHEMA)
    op.drop_column("assignment_facts", "merged", schema=SCHEMA)
