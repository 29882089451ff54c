"""intake: cases, idempotency keys, outbox, inbox

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
SCHEMA = "intake"


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.case_code_seq")
    op.create_table(
        "cases",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("request_type", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("risk_reasons", pg.ARRAY(sa.String), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True)),
        sa.Column("location", pg.JSONB, nullable=False),
        sa.Column("parties", pg.JSONB, nullable=False),
        sa.Column("people_involved", sa.Integer),
        sa.Column("amount_involved", sa.Numeric(16, 2)),
        sa.Column("external_ref", sa.String(100)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("current_unit_id", sa.String(64)),
        sa.Column("assignment_id", pg.UUID(as_uuid=True)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("visible_units", pg.ARRAY(sa.String), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        schema=SCHEMA,
    )
    op.create_index("ix_cases_created", "cases", ["created_at", "id"], schema=SCHEMA)
    op.create_index("ix_cases_visible_units", "cases", ["visible_units"], schema=SCHEMA,
                    postgresql_using="gin")
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", pg.JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    create_bus_tables(SCHEMA)


def downgrade() -> None:
    drop_bus_tables(SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("cases", schema=SCHEMA)
    op.execute(f"DROP SEQUENCE IF EXISTS {SCHEMA}.case_code_seq")
