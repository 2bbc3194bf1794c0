"""Placeholder: filled in by the issue that owns this command."""

import click


@click.command(name="config")
def config() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")
