"""intake: 人民调解协议书 (sealed facts and terms, the 履行 follow-up) and their 司法确认

Revision ID: 0018_agreements
Revises: 0017_cohandling_grants
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0018_agreements"
down_revision = "0017_cohandling_grants"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("facts_sealed", sa.Text, nullable=False),
        sa.Column("terms_sealed", sa.Text, nullable=False),
        sa.Column("performance_way", sa.String(16), nullable=False),
        sa.Column("performance_due", sa.Date, nullable=False),
        sa.Column("mediators", pg.ARRAY(sa.String), nullable=False),
        sa.Column("committee", sa.String(100), nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("signed_attachment_id", pg.UUID(as_uuid=True)),
        sa.Column("signed_by", sa.String(128)),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("performance", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("performance_note_sealed", sa.Text),
        sa.Column("performance_recorded_by", sa.String(128)),
        _ts("performance_recorded_at", nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("case_id", "number", name="uq_agreement_number"),
        schema=SCHEMA,
    )
    op.create_table(
        "judicial_confirmations",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("agreement_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.agreements.id"), nullable=False,
                  unique=True),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("court", sa.String(100), nullable=False),
        sa.Column("accepted", sa.Boolean),
        sa.Column("confirmed", sa.Boolean),
        sa.Column("ruling_number", sa.String(64)),
        sa.Column("decided_on", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("judicial_confirmations", schema=SCHEMA)
    op.drop_table("agreements", schema=SCHEMA)
