"""routing: responsible leaders of units, the 包案领导 of cases, 专班 (task forces) as people, and Idempotency-Key

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
SCHEMA = "routing"


def upgrade() -> None:
    op.add_column("org_units", sa.Column("leaders", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
                  schema=SCHEMA)
    op.create_table(
        "case_leaders",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("leader_id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(40), nullable=False, server_default=""),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    op.create_index("ix_case_leaders_leader", "case_leaders", ["leader_id"], schema=SCHEMA)
    op.create_table(
        "task_forces",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("member_ids", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("plan", sa.Text),
        sa.Column("plan_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_submitted_at", sa.DateTime(timezone=True)),
        sa.Column("plan_reminded_at", sa.DateTime(timezone=True)),
        sa.Column("plan_overdue_at", sa.DateTime(timezone=True)),
        sa.Column("milestones", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    op.create_index("ix_task_forces_people", "task_forces", ["lead_id"], schema=SCHEMA)
    op.create_index("ix_task_forces_members", "task_forces", ["member_ids"], schema=SCHEMA, postgresql_using="gin")
    op.create_index("ix_task_forces_plan_due", "task_forces", ["plan_due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("plan_submitted_at IS NULL AND plan_overdue_at IS NULL"))


def downgrade() -> None:
    op.drop_table("task_forces", schema=SCHEMA)
    op.drop_table("case_leaders", schema=SCHEMA)
    op.drop_column("org_units", "leaders", schema=SCHEMA)
