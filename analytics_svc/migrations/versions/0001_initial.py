"""analytics: units, case facts, outbox, inbox

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
SCHEMA = "analytics"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("path", pg.ARRAY(sa.String), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "case_facts",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("received_at", TS),
        sa.Column("channel", sa.String(32)),
        sa.Column("request_type", sa.String(32)),
        sa.Column("category", sa.String(64)),
        sa.Column("risk_level", sa.String(16)),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False),
        sa.Column("level", sa.String(16)),
        sa.Column("assigned_at", TS),
        sa.Column("accepted_at", TS),
        sa.Column("outcome", sa.String(32)),
        sa.Column("outcome_at", TS),
        sa.Column("resolved_level", sa.String(16)),
        schema=SCHEMA,
    )
    op.create_index("ix_case_facts_received", "case_facts", ["received_at"], schema=SCHEMA)
    op.create_index("ix_case_facts_unit_path", "case_facts", ["unit_path"], schema=SCHEMA, postgresql_using="gin")
    create_bus_tables(SCHEMA)


def downgrade() -> None:
    drop_bus_tables(SCHEMA)
    op.drop_table("case_facts", schema=SCHEMA)
    op.drop_table("units", schema=SCHEMA)
