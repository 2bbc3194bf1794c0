"""Alembic environment: runs on the connection handed over by monitor.storage.migrate.

No alembic.ini is needed at runtime; `article-monitor db upgrade` and the
daemon's start both call `monitor.storage.migrate.upgrade(engine)`. For
`alembic revision --autogenerate` during development, pass a URL with
`-x url=sqlite:///dev.db`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from monitor.storage.tables import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
        # the monitor's own schema's (migrate._schema), never one further along
        # PostgreSQL's search_path
        version_table_schema=config.attributes.get("version_table_schema"),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - developer use through the alembic CLI
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass -x url=DATABASE_URL")
    with create_engine(url).begin() as conn:
        _run(conn)
