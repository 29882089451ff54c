"""notify: the working-time calendar as routing publishes it (admin overrides, loaded holiday notices)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "notify"


def upgrade() -> None:
    op.create_table(
        "calendar",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("overrides", pg.JSONB, nullable=False),
        sa.Column("loaded_years", pg.JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("calendar", schema=SCHEMA)
