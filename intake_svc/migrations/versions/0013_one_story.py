"""intake: what a case had at registration kept for unmerge; stored answers keep their headers

``urgent`` and ``deadline_days`` (a 12345 order's working-day deadline) were only in the received event: a case
merged at registration and unmerged later was re-emitted without them. The idempotency table is the shared one
(``shared.idempotency``): a replayed answer carries its ``ETag``/``Location`` headers too.

Revision ID: 0013_one_story
Revises: 0012
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0013_one_story"
down_revision = "0012"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("cases", sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()), schema=SCHEMA)
    op.add_column("cases", sa.Column("deadline_days", sa.Integer), schema=SCHEMA)
    op.add_column("idempotency_keys", sa.Column("headers", pg.JSONB, nullable=False,
                                                server_default=sa.text("'{}'::jsonb")), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("idempotency_keys", "headers", schema=SCHEMA)
    op.drop_column("cases", "deadline_days", schema=SCHEMA)
    op.drop_column("cases", "urgent", schema=SCHEMA)
