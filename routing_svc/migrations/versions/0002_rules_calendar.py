"""routing: rule versions, calendar overrides and loaded years, revisions, members' email

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "routing"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", pg.JSONB, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("changes", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("is_workday", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("loaded_by", sa.String(128), nullable=False),
        sa.Column("loaded_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "revisions",  # one row per cached data set, bumped by every change: replicas reload when it moves
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.execute(f"INSERT INTO {SCHEMA}.revisions (name, revision) VALUES ('calendar', 0), ('org', 0)")
    op.add_column("members", sa.Column("email_sealed", sa.Text), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("members", "email_sealed", schema=SCHEMA)
    op.drop_table("revisions", schema=SCHEMA)
    op.drop_table("calendar_years", schema=SCHEMA)
    op.drop_table("calendar_days", schema=SCHEMA)
    op.drop_table("rule_versions", schema=SCHEMA)
