"""analytics: who handled which case (per-person figures) (per-force figures read case_forces, of migration 0009_records)

Built from ``fq.case.assignee_set.v1``, the ``assignee_id`` of ``fq.case.resolved.v1`` and the ``forces`` of
``fq.case.assigned.v1``; a replay (``python -m services replay analytics``) fills them for earlier cases.

Revision ID: 0010
Revises: 0009_records
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009_records"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.create_table(
        "person_cases",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("assignee_id", sa.String(128), primary_key=True),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Boolean, nullable=False, server_default="false"),
        schema=SCHEMA,
    )
    op.create_index("ix_person_cases_path", "person_cases", ["unit_path"], schema=SCHEMA, postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("person_cases", schema=SCHEMA)
