"""The `article-monitor` command line: a thin layer over the library.

Commands are loaded lazily so `article-monitor verify` does not pay for
importing aiohttp, SQLAlchemy and the scheduler.
"""

from __future__ import annotations

import importlib
import sys

import click

from monitor import __version__

# command name -> "module:attribute"; one module per command
COMMANDS: dict[str, str] = {
    "check": "monitor.cli.check:check",
    "run": "monitor.cli.run:run",
    "status": "monitor.cli.status:status",
    "history": "monitor.cli.status:history",
    "verify": "monitor.cli.signing:verify",
    "sign": "monitor.cli.signing:sign",
    "keygen": "monitor.cli.signing:keygen",
    "db": "monitor.cli.db:db",
    "config": "monitor.cli.config_cmd:config",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="article-monitor")
def cli() -> None:
    """Data-integrity and link-health monitor for news-article records.

    \b
    Quick start:
      article-monitor check examples/articles --offline   # static checks, no network
      article-monitor check examples/articles             # every link, now
      article-monitor run examples/articles               # the daemon, /metrics on :9464
      article-monitor verify examples/articles --key-file k.key

    Exit codes: 0 healthy, 1 problems found, 2 usage or configuration error.
    """


def main() -> None:
    try:
        cli.main(prog_name="article-monitor")
    except KeyboardInterrupt:  # pragma: no cover - commands handle their own
        sys.exit(130)
