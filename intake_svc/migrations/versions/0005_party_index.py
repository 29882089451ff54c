"""intake: keyed blind index of applicants' phone and ID numbers (matching without decrypting)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("applicant_index", pg.ARRAY(sa.String), nullable=False,
                                     server_default="{}"), schema=SCHEMA)
    op.create_index("ix_cases_applicant_index", "cases", ["applicant_index"], schema=SCHEMA, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_cases_applicant_index", "cases", schema=SCHEMA)
    op.drop_column("cases", "applicant_index", schema=SCHEMA)
