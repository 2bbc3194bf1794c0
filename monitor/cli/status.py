"""Placeholder: filled in by the issue that owns this command."""

import click


@click.command(name="status")
def status() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")


@click.command(name="history")
def history() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")
