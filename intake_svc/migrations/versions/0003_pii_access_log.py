"""intake: access log of full personal-data reads

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
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "pii_access_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("accessed_by", sa.String(128), nullable=False),
        sa.Column("roles", pg.ARRAY(sa.String), nullable=False),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("fields", pg.ARRAY(sa.String), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("pii_access_log", schema=SCHEMA)
