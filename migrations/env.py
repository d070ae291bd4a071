"""Alembic environment: the models' metadata, batch mode on SQLite.

Run by ``mutualaid db upgrade`` (which passes an open connection) or by the ``alembic`` command for
development (``alembic revision --autogenerate -m "..."``), which reads the database URL from the
mutualaid configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from aggregator.storage.fulltext import include_object
from aggregator.storage.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,  # the full-text index is not in the models
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    from aggregator.config import load_config
    from aggregator.storage.engine import make_engine

    engine = make_engine(load_config().database.url)
    with engine.begin() as fresh:
        run_with(fresh)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
