"""notify: recipients, inbox items, outbox, inbox

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
SCHEMA = "notify"


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("member_id", sa.String(128), primary_key=True),
        sa.Column("unit_id", sa.String(64), nullable=False, index=True),
        sa.Column("roles", pg.ARRAY(sa.String), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=SCHEMA,
    )
    op.create_table(
        "inbox_items",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("case_id", pg.UUID(as_uuid=True)),
        sa.Column("case_code", sa.String(32)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("user_id", "event_id", name="uq_inbox_user_event"),
        schema=SCHEMA,
    )
    op.create_index("ix_inbox_user_created", "inbox_items", ["user_id", "created_at", "id"], schema=SCHEMA)
    create_bus_tables(SCHEMA)


def downgrade() -> None:
    drop_bus_tables(SCHEMA)
    op.drop_table("inbox_items", schema=SCHEMA)
    op.drop_table("recipients", schema=SCHEMA)
