"""routing: the assignment workflow (return, extend, suspend, escalate, reopen, close) and the scheduler's indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "routing"
TS = sa.DateTime(timezone=True)
CURRENT = "('assigned', 'accepted', 'suspended', 'resolved', 'closed')"


def upgrade() -> None:
    for col in (
        sa.Column("cause", sa.String(16), nullable=False, server_default="routed"),
        sa.Column("previous_assignment_id", pg.UUID(as_uuid=True)),
        sa.Column("suspended_from", sa.String(16)),
        sa.Column("suspended_at", TS),
        sa.Column("pending_extension", pg.JSONB),
        sa.Column("task_force", pg.JSONB),
        sa.Column("resolve_span", pg.JSONB),
        sa.Column("escalate_on_resolve_overdue", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("accept_overdue_at", TS),
        sa.Column("resolve_overdue_at", TS),
        sa.Column("mediation_agreement", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("judicial_confirmation", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("close_due_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("close_reason", sa.String(16)),
        sa.Column("facts", pg.JSONB),
    ):
        op.add_column("assignments", col, schema=SCHEMA)
    # at most one assignment has the case at any time: a second routing of the same case cannot commit
    op.create_index("ux_assignments_current_case", "assignments", ["case_id"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text(f"status IN {CURRENT}"))
    # the scheduler's three queues, each only over the rows that can fire
    op.create_index("ix_assignments_accept_due", "assignments", ["accept_due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'assigned' AND accept_overdue_at IS NULL"))
    op.create_index("ix_assignments_resolve_due", "assignments", ["resolve_due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'accepted' AND resolve_overdue_at IS NULL "
                                             "AND resolve_due_at IS NOT NULL"))
    op.create_index("ix_assignments_close_due", "assignments", ["close_due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'resolved' AND close_due_at IS NOT NULL"))
    op.create_table(
        "assignment_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("assignment_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("detail", pg.JSONB, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("assignment_log", schema=SCHEMA)
    for name in ("ix_assignments_close_due", "ix_assignments_resolve_due", "ix_assignments_accept_due",
                 "ux_assignments_current_case"):
        op.drop_index(name, "assignments", schema=SCHEMA)
    for col in ("facts", "close_reason", "closed_at", "close_due_at", "judicial_confirmation", "mediation_agreement",
                "resolve_overdue_at", "accept_overdue_at", "escalate_on_resolve_overdue", "resolve_span",
                "task_force", "pending_extension", "suspended_at", "suspended_from", "previous_assignment_id",
                "cause"):
        op.drop_column("assignments", col, schema=SCHEMA)
