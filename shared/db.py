"""Database helpers: one async engine per service, bound to the service's own schema, and Alembic runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Turn a plain ``postgresql://`` URL into the asyncpg dialect SQLAlchemy needs."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    """A DSN asyncpg accepts directly (for LISTEN/NOTIFY and advisory-lock connections)."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, schema: str, pool_size: int = 20) -> AsyncEngine:
    """An engine whose connections use the service's schema first on the search path."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,  # overflow connections are closed on return: wait for a pooled one instead of churning
        pool_pre_ping=False,  # asyncpg reports a dead connection; a ping per checkout costs a round trip
        pool_recycle=1800,
        hide_parameters=True,  # statement parameters (names, phones) never reach an error message, log or DLQ header
        connect_args={"server_settings": {"search_path": f"{schema},public", "application_name": schema}},
    )


def make_sessionmaker(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """``info``: copied into every session's ``info`` (the schema, the outbox waker)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info or {})


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``, for a hot path that wants one round trip per statement.

    The asyncpg adapter sends BEGIN lazily, before the first statement SQLAlchemy executes; what runs on this
    connection before that is in autocommit, so each statement is atomic on its own (write several tables in one
    statement with data-modifying CTEs). The connection goes back to the pool when the session closes.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


def alembic_config(migrations_dir: Path, url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = async_url(url)
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(migrations_dir: Path, url: str, schema: str, revision: str = "head") -> None:
    """Run a service's migrations (blocking; call it from a thread inside an event loop)."""
    command.upgrade(alembic_config(migrations_dir, url, schema), revision)


def downgrade(migrations_dir: Path, url: str, schema: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(migrations_dir, url, schema), revision)
