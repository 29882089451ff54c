"""intake: classification confidence and source

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("category_confidence", sa.Float), schema=SCHEMA)
    op.add_column("cases", sa.Column("request_type_confidence", sa.Float), schema=SCHEMA)
    op.add_column("cases", sa.Column("classified_by", sa.String(16), nullable=False, server_default="staff"),
                  schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("cases", "classified_by", schema=SCHEMA)
    op.drop_column("cases", "request_type_confidence", schema=SCHEMA)
    op.drop_column("cases", "category_confidence", schema=SCHEMA)
