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
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.storage.engine import make_engine
    from monitor.storage.migrate import current_revision, head_revision
    from monitor.storage.migrate import upgrade as do_upgrade

    settings = settings_from(config_file, flags)
    url = settings.database_url()
    engine = make_engine(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        before = current_revision(engine)
        do_upgrade(engine)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"{shown}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{shown}: already at revision {after} (head {head_revision()})")
    else:
        click.echo(f"{shown}: upgraded from {before or 'empty'} to {after}")
