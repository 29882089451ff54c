"""intake: the 12345 callback keeps the trace it was owed in (its W3C ``traceparent``), sent with the callback

Revision ID: 0015_callback_trace
Revises: 0014
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_callback_trace"
down_revision = "0014"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("hotline_callbacks", sa.Column("traceparent", sa.String(55), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("hotline_callbacks", "traceparent", schema=SCHEMA)
