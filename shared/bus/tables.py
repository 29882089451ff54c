"""The outbox and inbox tables every service has in its own schema.

Services create them in their first Alembic migration with ``create_bus_tables`` (never ``create_all``).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID


def outbox_table(metadata: MetaData, schema: str) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("ce_type", String(200), nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("kafka_partition", Integer),
        Column("kafka_offset", BigInteger),
        schema=schema,
        extend_existing=True,
    )

def processed_events_table(metadata: MetaData, schema: str) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("ce_source", String(200), primary_key=True),
        Column("ce_id", String(200), primary_key=True),
        Column("ce_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
        extend_existing=True,
    )

def relay_state_table(metadata: MetaData, schema: str) -> Table:
    """What the relay must remember across restarts, e.g. the id of the Kafka cluster it published to."""
    return Table(
        "relay_state",
        metadata,
        Column("key", String(100), primary_key=True),
        Column("value", String(500), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
        extend_existing=True,
    )


def bus_tables(metadata: MetaData, schema: str) -> list[Table]:
    return [outbox_table(metadata, schema), processed_events_table(metadata, schema),
            relay_state_table(metadata, schema)]


def create_bus_tables(schema: str) -> None:
    """Alembic operations creating the outbox, the inbox and the relay state in ``schema``."""
    md = MetaData()
    for table in bus_tables(md, schema):
        op.create_table(table.name, *[c._copy() for c in table.columns], schema=schema)
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], schema=schema,
        postgresql_where=text("published_at IS NULL"),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], schema=schema)
    op.create_index("ix_processed_events_at", "processed_events", ["processed_at"], schema=schema)

def drop_bus_tables(schema: str) -> None:
    op.drop_table("relay_state", schema=schema)
    op.drop_table("processed_events", schema=schema)
    op.drop_table("outbox", schema=schema)

def notify_channel(schema: str) -> str:
    return f"fq_outbox_{schema}"

