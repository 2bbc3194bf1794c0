"""`article-monitor config show`: the effective settings, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from monitor.cli.options import CorpusPath, check_options, settings_from


@click.group()
def config() -> None:
    """Inspect the configuration (TOML file < ARTICLE_MONITOR_* env < flags)."""


@config.command()
@click.argument("paths", nargs=-1, type=CorpusPath())
@check_options
def show(paths: tuple[Path, ...], config_file: Path | None, **flags: Any) -> None:
    """Print the effective settings as JSON, after the file, the environment
    and these flags are merged and validated. Key files appear as paths,
    never as their content; a password in the database URL is masked.

    \b
    Examples:
      article-monitor config show --config examples/config.toml
      ARTICLE_MONITOR_RETENTION_DAYS=60 article-monitor config show --per-host 2

    Exit codes: 0 valid (printed); 2 invalid: each error names the setting
    and where it came from (file, environment or flag).
    """
    settings = settings_from(config_file, flags, paths)
    click.echo(json.dumps(settings.redacted(), indent=2, sort_keys=True))
