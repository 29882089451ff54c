"""analytics: full case and assignment facts, hotspot alerts, projection epoch

The read models are rebuilt from events: this revision drops the skeleton's tables and creates the new ones, and
writes a new projection epoch, so the service joins a new consumer group and replays the topics from the start.

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
SCHEMA = "analytics"
TS = sa.DateTime(timezone=True)


def _path(name: str) -> sa.Column:
    return sa.Column(name, pg.ARRAY(sa.String), nullable=False, server_default="{}")


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean, nullable=False, server_default="false")


def upgrade() -> None:
    op.drop_table("case_facts", schema=SCHEMA)
    op.drop_table("units", schema=SCHEMA)
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        _path("path"),
        sa.Column("active", sa.Boolean, nullable=False, server_default="true"),
        schema=SCHEMA,
    )
    op.create_index("ix_units_parent", "units", ["parent_id"], schema=SCHEMA)
    op.create_table(
        "case_facts",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(64)),
        sa.Column("received_at", TS),
        sa.Column("channel", sa.String(32)),
        sa.Column("request_type", sa.String(32)),
        sa.Column("category", sa.String(64)),
        sa.Column("risk_level", sa.String(16)),
        _flag("urgent"),
        sa.Column("deadline_days", sa.Integer),
        sa.Column("grid_id", sa.String(64)),
        sa.Column("received_unit_id", sa.String(64)),
        sa.Column("applicant_key", sa.String(128)),
        sa.Column("address_key", sa.String(128)),
        sa.Column("merged_into", pg.UUID(as_uuid=True)),
        sa.Column("home_unit_id", sa.String(64)),
        _path("home_path"),
        sa.Column("home_level", sa.String(16)),
        sa.Column("first_assigned_at", TS),
        sa.Column("unit_id", sa.String(64)),
        _path("unit_path"),
        sa.Column("unit_name", sa.String(200)),
        sa.Column("level", sa.String(16)),
        sa.Column("track", sa.String(16)),
        sa.Column("assigned_at", TS),
        sa.Column("assignment_id", pg.UUID(as_uuid=True)),
        _path("levels_reached"),
        _path("escalated_levels"),
        sa.Column("max_level_rank", sa.Integer),
        _flag("task_force"),
        sa.Column("accepted_at", TS),
        sa.Column("accept_due_at", TS),
        sa.Column("resolve_due_at", TS),
        _int("returns"), _int("extension_requests"), _int("extensions"), _int("suspensions"), _int("escalations"),
        _int("overdue_count"),
        sa.Column("outcome", sa.String(32)),
        sa.Column("outcome_at", TS),
        sa.Column("resolved_level", sa.String(16)),
        sa.Column("outcome_unit_id", sa.String(64)),
        _path("outcome_path"),
        sa.Column("outcome_on_time", sa.Boolean),
        sa.Column("resolve_hours", sa.Float),
        _flag("mediation_agreement"), _flag("judicial_confirmation"),
        sa.Column("feedback_result", sa.String(16)),
        _int("feedback_answers"), _int("feedback_satisfied"),
        sa.Column("closed_at", TS),
        sa.Column("close_reason", sa.String(32)),
        _int("reopen_count"),
        sa.Column("reopened_at", TS),
        schema=SCHEMA,
    )
    op.create_index("ix_case_facts_received", "case_facts", ["received_at"], schema=SCHEMA)
    for col in ("home_path", "outcome_path"):
        op.create_index(f"ix_case_facts_{col}", "case_facts", [col], schema=SCHEMA, postgresql_using="gin")
    op.create_index("ix_case_facts_applicant", "case_facts", ["applicant_key", "received_at"], schema=SCHEMA,
                    postgresql_where=sa.text("applicant_key IS NOT NULL"))
    op.create_index("ix_case_facts_spike", "case_facts", ["home_unit_id", "received_at"], schema=SCHEMA)
    op.create_table(
        "assignment_facts",
        sa.Column("assignment_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("received_at", TS),
        sa.Column("unit_id", sa.String(64)),
        _path("unit_path"),
        sa.Column("level", sa.String(16)),
        sa.Column("track", sa.String(16)),
        sa.Column("cause", sa.String(16)),
        sa.Column("assigned_at", TS),
        sa.Column("accept_due_at", TS),
        sa.Column("accepted_at", TS),
        sa.Column("accept_minutes", sa.Float),
        _flag("accept_overdue"),
        sa.Column("resolve_due_at", TS),
        _flag("resolve_overdue"),
        sa.Column("returned_at", TS),
        sa.Column("left_at", TS),
        sa.Column("outcome", sa.String(32)),
        sa.Column("resolved_at", TS),
        schema=SCHEMA,
    )
    op.create_index("ix_assignment_facts_received", "assignment_facts", ["received_at"], schema=SCHEMA)
    op.create_index("ix_assignment_facts_path", "assignment_facts", ["unit_path"], schema=SCHEMA,
                    postgresql_using="gin")
    op.create_table(
        "hotspot_alerts",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("alert_id", pg.UUID(as_uuid=True), nullable=False),
        _path("unit_path"),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("ratio", sa.Float, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "projection_epoch",
        sa.Column("epoch", sa.String(64), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.execute(f"INSERT INTO {SCHEMA}.projection_epoch (epoch, created_at) "
               "VALUES (replace(gen_random_uuid()::text, '-', ''), now())")


def downgrade() -> None:
    for table in ("projection_epoch", "hotspot_alerts", "assignment_facts", "case_facts", "units"):
        op.drop_table(table, schema=SCHEMA)
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("path", pg.ARRAY(sa.String), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "case_facts",
        sa.Column("case_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("received_at", TS),
        sa.Column("channel", sa.String(32)),
        sa.Column("request_type", sa.String(32)),
        sa.Column("category", sa.String(64)),
        sa.Column("risk_level", sa.String(16)),
        sa.Column("unit_id", sa.String(64)),
        sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False),
        sa.Column("level", sa.String(16)),
        sa.Column("assigned_at", TS),
        sa.Column("accepted_at", TS),
        sa.Column("outcome", sa.String(32)),
        sa.Column("outcome_at", TS),
        sa.Column("resolved_level", sa.String(16)),
        schema=SCHEMA,
    )
    op.create_index("ix_case_facts_received", "case_facts", ["received_at"], schema=SCHEMA)
    op.create_index("ix_case_facts_unit_path", "case_facts", ["unit_path"], schema=SCHEMA, postgresql_using="gin")
