"""intake: 12345 hotline adapter — orders, callback outbox and attempts, platform messages, nonces

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0007"  # the intake head when this was written; re-pointed at merge
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "hotline_orders",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("order_no", sa.String(64), primary_key=True),
        sa.Column("case_id", pg.UUID(as_uuid=True)),
        sa.Column("primary_case_id", pg.UUID(as_uuid=True)),
        sa.Column("mapping", sa.String(64), nullable=False),
        sa.Column("platform_received_at", sa.DateTime(timezone=True)),
        sa.Column("deadline_days", sa.Integer),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("callback_ok", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("unit_name", sa.String(200)),
        sa.Column("result_text", sa.Text),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("next_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_hotline_orders_case_id", "hotline_orders", ["case_id"], schema=SCHEMA)
    op.create_index("ix_hotline_orders_primary_case_id", "hotline_orders", ["primary_case_id"], schema=SCHEMA)
    op.create_table(
        "hotline_callbacks",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("case_id", pg.UUID(as_uuid=True)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("idempotency_key", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("client_id", "order_no", "seq"),
        schema=SCHEMA,
    )
    # the sender looks only at callbacks not yet delivered
    op.create_index("ix_hotline_callbacks_undelivered", "hotline_callbacks", ["client_id", "order_no", "seq"],
                    schema=SCHEMA, postgresql_where=sa.text("status <> 'delivered'"))
    op.create_table(
        "hotline_callback_attempts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("callback_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", sa.Text),
        sa.Column("error", sa.Text),
        schema=SCHEMA,
    )
    op.create_index("ix_hotline_callback_attempts_callback_id", "hotline_callback_attempts", ["callback_id"],
                    schema=SCHEMA)
    op.create_table(
        "hotline_messages",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_id", pg.UUID(as_uuid=True)),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_hotline_messages_order_no", "hotline_messages", ["order_no"], schema=SCHEMA)
    op.create_table(
        "hotline_nonces",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_hotline_nonces_seen_at", "hotline_nonces", ["seen_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("hotline_nonces", "hotline_messages", "hotline_callback_attempts", "hotline_callbacks",
                  "hotline_orders"):
        op.drop_table(table, schema=SCHEMA)
