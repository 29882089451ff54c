"""intake: the cases table's GIN indexes without a pending list (fastupdate off)

With fastupdate on (PostgreSQL's default), GIN insertions go to an unsorted pending list that every search scans in
full until a vacuum or a 4 MB list flushes it. Registration searches the applicant index twice per case (repeat
applicant, duplicates) and every routing event rewrites the case's row (new entries in both indexes), so between
two autovacuum runs each registration grew slower: at 200 cases/s the list reached ~7,000 entries in 25 s and
intake's p99 went from under 100 ms to 270 ms and more. Direct insertion costs a little on each write and keeps
every search at index speed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
SCHEMA = "intake"
GIN_INDEXES = ("ix_cases_applicant_index", "ix_cases_visible_units")


def upgrade() -> None:
    for index in GIN_INDEXES:
        op.execute(f"ALTER INDEX {SCHEMA}.{index} SET (fastupdate = off)")
        # turning it off does not flush what is already pending
        op.execute(f"SELECT gin_clean_pending_list('{SCHEMA}.{index}'::regclass)")


def downgrade() -> None:
    for index in GIN_INDEXES:
        op.execute(f"ALTER INDEX {SCHEMA}.{index} RESET (fastupdate)")
