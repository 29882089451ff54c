"""routing: co-handling (协办) — the member responsible for a force per unit, the tasks of a case's forces, and the
Idempotency-Key table of routing's creating POSTs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.idempotency import create_idempotency_table, drop_idempotency_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "routing"
LIVE = "status IN ('open', 'accepted')"


def upgrade() -> None:
    op.create_table(
        "force_responsibles",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("force", sa.String(32), primary_key=True),
        sa.Column("member_id", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "cohandling_tasks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("case_id", sa.Uuid, nullable=False, index=True),
        sa.Column("case_code", sa.String(32), nullable=False),
        sa.Column("assignment_id", sa.Uuid, nullable=False),
        sa.Column("force", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(128)),
        sa.Column("member_unit_id", sa.String(64)),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("risk_level", sa.String(16)),
        sa.Column("track", sa.String(16), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("report", sa.Text),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(128)),
        sa.Column("close_reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    # one live task per force and case: a re-opened, re-routed or re-classified case does not get a second one
    op.create_index("uq_cohandling_live_force", "cohandling_tasks", ["case_id", "force"], unique=True,
                    schema=SCHEMA, postgresql_where=sa.text(LIVE))
    op.create_index("ix_cohandling_member_live", "cohandling_tasks", ["member_id"], schema=SCHEMA,
                    postgresql_where=sa.text(LIVE))
    create_idempotency_table(SCHEMA)  # routing's first POSTs with Idempotency-Key


def downgrade() -> None:
    op.drop_table("cohandling_tasks", schema=SCHEMA)
    op.drop_table("force_responsibles", schema=SCHEMA)
    drop_idempotency_table(SCHEMA)
