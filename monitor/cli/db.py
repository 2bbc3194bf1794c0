"""`article-monitor db`: the database schema (Alembic migrations, packaged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.cli.options import config_option, db_options, settings_from


@click.group()
def db() -> None:
    """Manage the history database (SQLite under --data-dir, or --db URL)."""


@db.command()
@config_option
@db_options
def upgrade(config_file: Path | None, **flags: Any) -> None:
    """Create the schema or migrate it to the current version.

    The daemon does this on start; run it by hand before a rolling upgrade
    of several daemons sharing one PostgreSQL database.

    \b
    Examples:
      article-monitor db upgrade --data-dir /var/lib/article-monitor
      article-monitor db upgrade --db postgresql+psycopg://monitor@db/monitor

    Exit codes: 0 the schema is current (the revisions are said); 2 a
    database that cannot be used (unreachable, damaged, read-only, or from a
    newer version) or a configuration error.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.cli import CliError
    from monitor.storage.migrate import current_revision, head_revision
    from monitor.storage.migrate import upgrade as do_upgrade
    from monitor.storage.opening import DatabaseUnusable, explain, open_database, shown_url

    settings = settings_from(config_file, flags)
    url = settings.database_url()
    shown = shown_url(url)
    try:
        engine = open_database(url, create=True)
    except DatabaseUnusable as exc:
        raise CliError(str(exc)) from None
    try:
        before = current_revision(engine)
        do_upgrade(engine)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        raise CliError(explain(exc, url)) from None
    except DatabaseUnusable as exc:  # a newer version's schema
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{shown}: already at revision {after} (head {head_revision()})")
    else:
        click.echo(f"{shown}: upgraded from {before or 'empty'} to {after}")
