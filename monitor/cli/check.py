"""Placeholder."""

import click


@click.command()
def check() -> None:
    """Not built yet."""
    raise click.ClickException("not implemented yet")
