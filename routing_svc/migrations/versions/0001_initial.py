"""routing: org units, members, assignments, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shared.bus.tables import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "routing"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_units",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("path", pg.ARRAY(sa.String), nullable=False),
        sa.Column("address_keywords", pg.ARRAY(sa.String), nullable=False),
        sa.Column("polygon", pg.JSONB),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("unit_id", sa.String(64), nullable=False, index=True),
        sa.Column("name_sealed", sa.Text, nullable=False),
        sa.Column("phone_sealed", sa.Text),
        sa.Column("roles", pg.ARRAY(sa.String), nullable=False),
        sa.Column("forces", pg.ARRAY(sa.String), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "assignments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("case_code", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("track", sa.String(16), nullable=False),
        sa.Column("forces", pg.ARRAY(sa.String), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accept_due_at", TS, nullable=False),
        sa.Column("resolve_due_at", TS),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("accepted_by", sa.String(128)),
        sa.Column("accepted_at", TS),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolved_at", TS),
        sa.Column("outcome", sa.String(32)),
        sa.Column("outcome_note", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    op.create_index("ix_assignments_unit_path", "assignments", ["unit_path"], schema=SCHEMA,
                    postgresql_using="gin")
    op.create_index("ix_assignments_created", "assignments", ["created_at", "id"], schema=SCHEMA)
    create_bus_tables(SCHEMA)


def downgrade() -> None:
    drop_bus_tables(SCHEMA)
    op.drop_table("assignments", schema=SCHEMA)
    op.drop_table("members", schema=SCHEMA)
    op.drop_table("org_units", schema=SCHEMA)
