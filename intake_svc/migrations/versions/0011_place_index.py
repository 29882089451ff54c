"""intake: a place blind index (compound + building) for duplicates reported from one place by different people

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("place_index", sa.String(64)), schema=SCHEMA)
    op.create_index("ix_cases_place_index", "cases", ["place_index"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_cases_place_index", "cases", schema=SCHEMA)
    op.drop_column("cases", "place_index", schema=SCHEMA)
