"""intake: channel-specific fields (transfer, patrol) and attachment metadata

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("channel_details", pg.JSONB, nullable=False, server_default="{}"), schema=SCHEMA)
    op.add_column("cases", sa.Column("attachments", pg.JSONB, nullable=False, server_default="[]"), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("cases", "attachments", schema=SCHEMA)
    op.drop_column("cases", "channel_details", schema=SCHEMA)
