"""Placeholder: filled in by the issue that owns this command."""

import click


@click.command(name="db")
def db() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")
