"""analytics: the building (楼栋) routing placed a case in, for 分析研判's top buildings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.add_column("case_facts", sa.Column("building_id", sa.String(64)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("case_facts", "building_id", schema=SCHEMA)
