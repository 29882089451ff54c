"""Read models of the ``analytics`` schema, built only from events (SQLAlchemy Core tables).

Every column of ``case_facts`` and ``assignment_facts`` is the output of ``analytics_svc.domain``'s fold; the
schema can be dropped and rebuilt by replaying the topics from the earliest offset.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

SCHEMA = "analytics"
metadata = MetaData(schema=SCHEMA)
TS = DateTime(timezone=True)


def _path(name: str) -> Column[list[str]]:
    return Column(name, ARRAY(String), nullable=False, server_default="{}")


units = Table(
    "units", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("level", String(16), nullable=False),
    Column("parent_id", String(64)),
    _path("path"),
    Column("active", Boolean, nullable=False, server_default="true"),
)

case_facts = Table(
    "case_facts", metadata,
    Column("case_id", UUID(as_uuid=True), primary_key=True),
    Column("code", String(64)),
    Column("received_at", TS),
    Column("channel", String(32)),
    Column("request_type", String(32)),
    Column("category", String(64)),
    Column("risk_level", String(16)),
    Column("urgent", Boolean, nullable=False, server_default="false"),
    Column("deadline_days", Integer),
    Column("grid_id", String(64)),
    Column("received_unit_id", String(64)),
    Column("applicant_key", String(128)),  # blind index: opaque, not personal data
    Column("address_key", String(128)),
    Column("merged_into", UUID(as_uuid=True)),
    # the unit the case entered the ladder at (its first assignment): received and escalation count there
    Column("home_unit_id", String(64)),
    _path("home_path"),
    Column("home_level", String(16)),
    Column("first_assigned_at", TS),
    # the current (latest) assignment
    Column("unit_id", String(64)),
    _path("unit_path"),
    Column("unit_name", String(200)),
    Column("level", String(16)),
    Column("track", String(16)),
    Column("assigned_at", TS),
    Column("assignment_id", UUID(as_uuid=True)),
    _path("levels_reached"),
    _path("escalated_levels"),
    Column("max_level_rank", Integer),
    Column("task_force", Boolean, nullable=False, server_default="false"),
    Column("accepted_at", TS),
    Column("accept_due_at", TS),
    Column("resolve_due_at", TS),
    Column("returns", Integer, nullable=False, server_default="0"),
    Column("extension_requests", Integer, nullable=False, server_default="0"),
    Column("extensions", Integer, nullable=False, server_default="0"),
    Column("suspensions", Integer, nullable=False, server_default="0"),
    Column("escalations", Integer, nullable=False, server_default="0"),
    Column("overdue_count", Integer, nullable=False, server_default="0"),
    # the outcome (办结), credited to the unit that reached it
    Column("outcome", String(32)),
    Column("outcome_at", TS),
    Column("resolved_level", String(16)),
    Column("outcome_unit_id", String(64)),
    _path("outcome_path"),
    Column("outcome_on_time", Boolean),
    Column("resolve_hours", Float),
    Column("mediation_agreement", Boolean, nullable=False, server_default="false"),
    Column("judicial_confirmation", Boolean, nullable=False, server_default="false"),
    Column("feedback_result", String(16)),
    Column("feedback_answers", Integer, nullable=False, server_default="0"),
    Column("feedback_satisfied", Integer, nullable=False, server_default="0"),
    Column("closed_at", TS),
    Column("close_reason", String(32)),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("reopened_at", TS),
)

assignment_facts = Table(
    "assignment_facts", metadata,
    Column("assignment_id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("received_at", TS),
    Column("unit_id", String(64)),
    _path("unit_path"),
    Column("level", String(16)),
    Column("track", String(16)),
    Column("cause", String(16)),
    Column("assigned_at", TS),
    Column("accept_due_at", TS),
    Column("accepted_at", TS),
    Column("accept_minutes", Float),
    Column("accept_overdue", Boolean, nullable=False, server_default="false"),
    Column("resolve_due_at", TS),
    Column("resolve_overdue", Boolean, nullable=False, server_default="false"),
    Column("returned_at", TS),
    Column("left_at", TS),
    Column("outcome", String(32)),
    Column("resolved_at", TS),
)

hotspot_alerts = Table(
    "hotspot_alerts", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("category", String(64), primary_key=True),  # top-level category code
    Column("day", Date, primary_key=True),  # Asia/Shanghai day of the window
    Column("alert_id", UUID(as_uuid=True), nullable=False),
    _path("unit_path"),
    Column("count", Integer, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("ratio", Float, nullable=False),
    Column("window_start", TS, nullable=False),
    Column("window_end", TS, nullable=False),
    Column("at", TS, nullable=False),
)

# One row, written by the migration: a new schema gets a new epoch, hence a new consumer group (replay).
projection_epoch = Table(
    "projection_epoch", metadata,
    Column("epoch", String(64), primary_key=True),
    Column("created_at", TS, nullable=False),
)

CASE_COLUMNS = [c.name for c in case_facts.columns]
ASSIGNMENT_COLUMNS = [c.name for c in assignment_facts.columns]
