"""routing: 回头看 (re-visits of closed cases), scheduled by the lookback rules and due in working time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
SCHEMA = "routing"


def upgrade() -> None:
    op.create_table(
        "lookbacks",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("case_code", sa.String(32), nullable=False),
        sa.Column("assignment_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("unit_path", ARRAY(sa.String), nullable=False),
        sa.Column("assignee_id", sa.String(128)),
        sa.Column("track", sa.String(16), nullable=False),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_fired_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(128)),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        sa.Column("reopened_assignment_id", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    # the scheduler's queue: scheduled lookbacks by due time (a fired one leaves it)
    op.create_index("ix_lookbacks_due", "lookbacks", ["due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'scheduled'"))
    # at most one open 回头看 per case
    op.create_index("ux_lookbacks_open_case", "lookbacks", ["case_id"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('scheduled', 'due')"))
    op.create_index("ix_lookbacks_open_unit", "lookbacks", ["unit_id"], schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('scheduled', 'due')"))


def downgrade() -> None:
    op.drop_table("lookbacks", schema=SCHEMA)
