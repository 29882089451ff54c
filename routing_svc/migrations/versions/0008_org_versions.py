"""routing: a version on org units and members (their ETag; a PATCH needs If-Match)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
SCHEMA = "routing"


def upgrade() -> None:
    for table in ("org_units", "members"):
        op.add_column(table, sa.Column("version", sa.BigInteger, nullable=False, server_default="1"), schema=SCHEMA)


def downgrade() -> None:
    for table in ("org_units", "members"):
        op.drop_column(table, "version", schema=SCHEMA)
