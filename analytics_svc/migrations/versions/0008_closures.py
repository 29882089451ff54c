"""analytics: closures (销号) and their 回头看 recurrences (问题复发), for 复发率

One row per closed assignment: a case closed, reopened by its 回头看 and closed again has two. Rebuilt by a replay.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.create_table(
        "closures",
        sa.Column("assignment_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("unit_path", ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("recurred_at", sa.DateTime(timezone=True)),
        sa.Column("lookback_id", UUID(as_uuid=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_closures_closed_at", "closures", ["closed_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("closures", schema=SCHEMA)
