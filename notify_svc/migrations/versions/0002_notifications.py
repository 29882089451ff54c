"""notify: units, cases, deliveries, reminders, rules, templates, channel targets, surveys

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
SCHEMA = "notify"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("recipients", sa.Column("forces", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
                  schema=SCHEMA)
    op.create_index("ix_inbox_user_unread", "inbox_items", ["user_id"], schema=SCHEMA,
                    postgresql_where=sa.text("read_at IS NULL"))
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("path", pg.ARRAY(sa.String), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=SCHEMA,
    )
    op.create_table(
        "cases",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_code", sa.String(32)),
        sa.Column("assignment_id", pg.UUID(as_uuid=True)),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("visible_units", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "deliveries",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("trigger_ce_id", sa.String(200), nullable=False),
        sa.Column("trigger_type", sa.String(100), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient_id", sa.String(160), nullable=False),
        sa.Column("case_id", pg.UUID(as_uuid=True), index=True),
        sa.Column("template_key", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("trigger_ce_id", "rule_id", "recipient_id", "channel", name="uq_delivery_once"),
        schema=SCHEMA,
    )
    op.create_index("ix_deliveries_due", "deliveries", ["next_attempt_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_deliveries_recipient", "deliveries", ["recipient_id", "channel", "delivered_at"],
                    schema=SCHEMA)
    op.create_table(
        "reminders",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("assignment_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("clock", sa.String(16), nullable=False),
        sa.Column("fraction", sa.Float, nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("fire_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paused_at", TS),
        sa.UniqueConstraint("assignment_id", "clock", "fraction", name="uq_reminder_point"),
        schema=SCHEMA,
    )
    op.create_index("ix_reminders_due", "reminders", ["fire_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("doc", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "templates",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "channel_targets",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("secret", sa.Text),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "surveys",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("assignment_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("reply_code", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.String(16)),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("answered_at", TS),
        schema=SCHEMA,
    )
    op.create_index("ix_surveys_pending", "surveys", ["expires_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    for table in ("surveys", "channel_targets", "templates", "rule_sets", "reminders", "deliveries", "cases",
                  "units"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_inbox_user_unread", "inbox_items", schema=SCHEMA)
    op.drop_column("recipients", "forces", schema=SCHEMA)
