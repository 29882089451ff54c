"""intake: stable party ids (a uuid on every party, backfilled) and 调解 sessions

Revision ID: 0016_sessions
Revises: 0015_callback_trace
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0016_sessions"
down_revision = "0015_callback_trace"
branch_labels = None
depends_on = None
SCHEMA = "intake"

# every party without an id gets one (the order of the list is kept)
BACKFILL = f"""
UPDATE {SCHEMA}.cases c SET parties = (
    SELECT jsonb_agg(CASE WHEN p ? 'id' THEN p ELSE p || jsonb_build_object('id', gen_random_uuid()::text) END
                     ORDER BY n)
    FROM jsonb_array_elements(c.parties) WITH ORDINALITY AS t(p, n))
WHERE jsonb_typeof(c.parties) = 'array' AND jsonb_array_length(c.parties) > 0
  AND EXISTS (SELECT 1 FROM jsonb_array_elements(c.parties) p WHERE NOT p ? 'id')
"""


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.execute(BACKFILL)
    op.create_table(
        "mediation_sessions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        _ts("scheduled_at"),
        sa.Column("place_sealed", sa.Text, nullable=False),
        sa.Column("place_masked", sa.Text, nullable=False),
        sa.Column("mediators", pg.ARRAY(sa.String), nullable=False),
        sa.Column("parties_present", pg.ARRAY(sa.String), nullable=False),
        sa.Column("forces_present", pg.ARRAY(sa.String), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.String(16)),
        sa.Column("minutes_sealed", sa.Text),
        sa.Column("minutes_masked", sa.Text),
        sa.Column("previous_times", pg.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("unit_id", sa.String(64)),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("mediation_sessions", schema=SCHEMA)
    # the party ids stay: they are harmless to the earlier code, which never reads them
