"""intake: the case file's records — staff notes with their versions, attachments stored for real

Revision ID: 0014
Revises: 0013_one_story
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0014"
down_revision = "0013_one_story"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        _ts("at"),
        sa.Column("text_sealed", sa.Text, nullable=False),
        sa.Column("text_masked", sa.Text, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("unit_id", sa.String(64)),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "note_versions",
        sa.Column("note_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.notes.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        _ts("at"),
        sa.Column("text_sealed", sa.Text, nullable=False),
        sa.Column("text_masked", sa.Text, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("written_by", sa.String(128), nullable=False),
        _ts("written_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "attachments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("redacted_key", sa.String(200)),
        sa.Column("redacted_content_type", sa.String(100)),
        sa.Column("redacted_size", sa.BigInteger),
        sa.Column("redacted_sha256", sa.String(64)),
        sa.Column("redacted_by", sa.String(128)),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        _ts("uploaded_at"),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_attachments_owner", "attachments", ["owner_kind", "owner_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("attachments", schema=SCHEMA)
    op.drop_table("note_versions", schema=SCHEMA)
    op.drop_table("notes", schema=SCHEMA)
