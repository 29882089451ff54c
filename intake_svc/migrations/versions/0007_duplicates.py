"""intake: duplicate links (一件事只立一案) and an address blind index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("duplicate_of", pg.UUID(as_uuid=True)), schema=SCHEMA)
    op.add_column("cases", sa.Column("duplicate_candidates", pg.JSONB, nullable=False, server_default="[]"),
                  schema=SCHEMA)
    op.add_column("cases", sa.Column("address_index", sa.String(64)), schema=SCHEMA)
    op.create_index("ix_cases_address_index", "cases", ["address_index"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_cases_address_index", "cases", schema=SCHEMA)
    op.drop_column("cases", "address_index", schema=SCHEMA)
    op.drop_column("cases", "duplicate_candidates", schema=SCHEMA)
    op.drop_column("cases", "duplicate_of", schema=SCHEMA)
