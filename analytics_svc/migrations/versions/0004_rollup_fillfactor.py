"""analytics: rollup tables leave room on their pages so a batch's rollup upserts are HOT updates

A projection batch rewrites the rollup rows of the (day, unit) keys it touches without changing their key or path,
so with free space on the page PostgreSQL updates them in place of their seven indexes (heap-only tuples) instead
of adding an entry to every index per row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "analytics"
TABLES = ("rollup_home", "rollup_outcome", "rollup_assign")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} SET (fillfactor = 50)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} RESET (fillfactor)")
