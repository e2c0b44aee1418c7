"""Alembic environment: runs against whatever engine the caller configured (PostgreSQL or SQLite)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from salesnav.models import Base
from salesnav.models.session import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="salesnav.models.base.",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two releases starting at once must not both migrate: take a transaction-scoped lock.
            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        context.run_migrations()


run_migrations_online()
