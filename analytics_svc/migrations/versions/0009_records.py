"""analytics: the case file's documents — signed 人民调解协议书 with their 司法确认 and 履行, and the forces (协同力量)
each case was handled with — for the 协议书/司法确认/履行率 KPIs and the ledger's columns

Revision ID: 0009_records
Revises: 0008
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0009_records"
down_revision = "0008"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.create_table(
        "agreement_facts",
        sa.Column("agreement_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("performance_due", sa.Date, nullable=False),
        sa.Column("performance", sa.String(16)),
        sa.Column("confirmation", sa.String(16)),
        schema=SCHEMA,
    )
    op.create_table(
        "case_forces",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("forces", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("case_forces", schema=SCHEMA)
    op.drop_table("agreement_facts", schema=SCHEMA)
