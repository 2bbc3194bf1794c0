"""Placeholder: filled in by the issue that owns this command."""

import click


@click.command(name="verify")
def verify() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")


@click.command(name="sign")
def sign() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")


@click.command(name="keygen")
def keygen() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")
