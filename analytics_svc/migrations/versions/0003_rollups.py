"""analytics: daily rollups per unit (home, outcome, assignment side) for fast KPIs

Rebuilt from the fact rows of the (day, unit) keys each projection batch touches; a fresh schema is rebuilt by the
replay like every other read model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "analytics"


def _key() -> list[sa.Column]:
    return [sa.Column("day", sa.Date, primary_key=True), sa.Column("unit_id", sa.String(64), primary_key=True),
            sa.Column("unit_path", pg.ARRAY(sa.String), nullable=False, server_default="{}")]


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "rollup_home", *_key(), _int("received"), _int("assigned"), _int("escalated"),
        sa.Column("applicant_keys", pg.ARRAY(sa.BigInteger), nullable=False, server_default="{}"),  # 64-bit hashes
        sa.Column("applicant_at", pg.ARRAY(sa.DateTime(timezone=True)), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    op.create_table(
        "rollup_outcome", *_key(), _int("with_outcome"), _int("resolved"), _int("on_time_outcomes"),
        _int("resolved_locally"), _int("resolved_in_street"), _int("answers"), _int("satisfied"), _int("closed"),
        _int("reopened"), sa.Column("resolve_hours", pg.ARRAY(sa.Float), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    op.create_table(
        "rollup_assign", *_key(), _int("accept_counted"), _int("accepted_on_time"),
        sa.Column("accept_minutes", pg.ARRAY(sa.Float), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    for table in ("rollup_home", "rollup_outcome", "rollup_assign"):
        op.create_index(f"ix_{table}_path", table, ["unit_path"], schema=SCHEMA, postgresql_using="gin")
        op.create_index(f"ix_{table}_day", table, ["day"], schema=SCHEMA)
        for depth in range(1, 5):  # a scope unit at depth d (district 1 … grid 4): its rows by (unit_path[d], day)
            op.execute(f"CREATE INDEX ix_{table}_d{depth} ON {SCHEMA}.{table} ((unit_path[{depth}]), day)")
    # the rebuild of one (day, unit) key reads the facts of that unit and day
    op.drop_index("ix_case_facts_spike", "case_facts", schema=SCHEMA)
    op.execute(f"CREATE INDEX ix_case_facts_home_day ON {SCHEMA}.case_facts "
               "((coalesce(home_unit_id, '')), received_at)")
    op.create_index("ix_case_facts_outcome_day", "case_facts", ["outcome_unit_id", "received_at"], schema=SCHEMA)
    op.create_index("ix_assignment_facts_unit_day", "assignment_facts", ["unit_id", "received_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_assignment_facts_unit_day", "assignment_facts", schema=SCHEMA)
    op.drop_index("ix_case_facts_outcome_day", "case_facts", schema=SCHEMA)
    op.drop_index("ix_case_facts_home_day", "case_facts", schema=SCHEMA)
    op.create_index("ix_case_facts_spike", "case_facts", ["home_unit_id", "received_at"], schema=SCHEMA)
    for table in ("rollup_assign", "rollup_outcome", "rollup_home"):
        op.drop_table(table, schema=SCHEMA)
