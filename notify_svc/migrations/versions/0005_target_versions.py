"""notify: a version on channel targets (their ETag; a PUT needs If-Match, "0" to create one)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "notify"


def upgrade() -> None:
    op.add_column("channel_targets", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
                  schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("channel_targets", "version", schema=SCHEMA)
