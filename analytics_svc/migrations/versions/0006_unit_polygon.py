"""analytics: a unit's area (GeoJSON Polygon geometry from fq.org.unit_upserted.v1), for the big screen's map

Units upserted before routing published polygons have none until routing publishes them again (an org import or a
unit PATCH publishes every touched unit).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def upgrade() -> None:
    op.add_column("units", sa.Column("polygon", pg.JSONB), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("units", "polygon", schema=SCHEMA)
