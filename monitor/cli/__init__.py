"""The `article-monitor` command line: a thin layer over the library.

Commands are loaded lazily so `article-monitor verify` does not pay for
importing aiohttp, SQLAlchemy and the scheduler.
"""

from __future__ import annotations

import sys

from monitor.check.interrupt import stop_early
from monitor.daemon.hup import hold_for_run

# first thing, before click and the rest: a SIGHUP to `run` from here on is a reload
hold_for_run(sys.argv)
# and a Ctrl-C or SIGTERM exits 130: the console script imports this module, and
# one while click imported was a KeyboardInterrupt traceback (main() came too late).
# Only there: a process that imports the CLI as a library keeps its own handlers.
if sys.argv and sys.argv[0].rpartition("/")[2] == "article-monitor":
    stop_early()

import contextlib  # noqa: E402
import errno  # noqa: E402
import importlib  # noqa: E402
import re  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from monitor import __version__  # noqa: E402

EXIT_USAGE = 2
EXIT_BUG = 70  # sysexits' EX_SOFTWARE: neither "problems found" (1) nor "usage" (2)

# command name -> "module:attribute"; one module per command
COMMANDS: dict[str, str] = {
    "check": "monitor.cli.check:check",
    "run": "monitor.cli.run:run",
    "status": "monitor.cli.status:status",
    "history": "monitor.cli.status:history",
    "verify": "monitor.cli.verify:verify",
    "sign": "monitor.cli.sign:sign",
    "keygen": "monitor.cli.keygen:keygen",
    "db": "monitor.cli.db:db",
    "config": "monitor.cli.config_cmd:config",
    "grafana": "monitor.cli.grafana:grafana",
    "cluster": "monitor.cli.cluster:cluster",
}


class CliError(click.ClickException):
    """A failure the user can act on: `Error: …` on stderr and exit 2, no traceback."""

    exit_code = EXIT_USAGE


def known_error(exc: BaseException) -> str | None:
    """The user-facing message for an environmental failure, or None for a bug.

    Files, sockets and databases fail for reasons outside the program (a path
    that is not there, a port in use, a server down, a damaged file): those
    get one line. Anything else is a bug and must not be dressed up as one.
    """
    # only if its module was imported (a ConfigError needs it): importing it here
    # again, when the package it imports (pydantic) is what failed, raised once more
    # from this handler, a traceback and exit 1 instead of `cannot import pydantic`
    if "monitor.config_sources" in sys.modules:
        from monitor.config_sources import ConfigError

        if isinstance(exc, ConfigError):
            return str(exc)
    from monitor.install import cannot_import

    # a dependency missing or broken (imported late, where it is first needed),
    # whatever its import raises; None: one of monitor's own modules, a bug
    broken = cannot_import(exc)
    if broken is not None or isinstance(exc, ImportError):
        return broken
    if isinstance(exc, OSError):
        from monitor.cli.streams import is_stdout_failure, stdout_undeliverable

        if exc.filename is None and (
            exc.errno in (errno.EPIPE, errno.ENOSPC) or is_stdout_failure(exc)
        ):
            # standard output's (`… | head -1`, `> /dev/full`) only if it is the one
            # failing: a socket's or another file's must not silence it
            undelivered = stdout_undeliverable()
            if undelivered is not None:
                return undelivered
        where = exc.filename if exc.filename is not None else None
        reason = exc.strerror or str(exc) or type(exc).__name__
        return f"{where}: {reason}" if where else reason
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            from monitor.storage.opening import first_line

            return f"database: {first_line(exc)}"
    if "monitor.storage.opening" in sys.modules:
        from monitor.storage.opening import DatabaseUnusable

        if isinstance(exc, DatabaseUnusable):
            return str(exc)
    return None


def report_bug(exc: BaseException) -> None:
    """An unexpected exception: say it is a bug, and keep the traceback for the report."""
    click.echo(
        f"Error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
        f"article-monitor {__version__}; please report it with the traceback below.",
        err=True,
    )
    click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)


_NUMBER_LIKE = re.compile(r"-[0-9][0-9.]*")


def negative_argument(
    exc: click.NoSuchOption, given: Sequence[str] = ()
) -> click.UsageError | None:
    """`history -1`: click reads a word that begins with `-` as an option, and said
    "No such option '-1'" to one who meant an argument. Said as what it is: the
    command's `argument_hint` (why no such argument exists), or how to give one.
    `given`: the words on the command line, for the whole word: click names only
    its first two characters when a `.` follows (`-0.5` is its option `-0`), and
    `check -0.5` was told to run `check -- -0`."""
    if not re.fullmatch(r"-[0-9][0-9.]*", exc.option_name) or exc.ctx is None:
        return None
    whole = (w for w in given if w.startswith(exc.option_name) and _NUMBER_LIKE.fullmatch(w))
    word = next(whole, exc.option_name)
    command = exc.ctx.command
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if not arguments:
        return None
    name = exc.ctx.info_name or command.name
    hint = getattr(command, "argument_hint", None)
    if hint is None:
        hint = (
            f"an argument that begins with '-' goes after '--' (article-monitor {name} -- {word})"
        )
    return click.UsageError(f"{word!r} is not an option: {hint}", ctx=exc.ctx)


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        """One place that turns environmental failures into `Error: …` (exit 2)."""
        given = list(ctx.args)  # the subcommand's words, before it parses them
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            raise negative_argument(exc, given) or exc from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            from monitor.check.interrupt import wrapped_stop

            if (stopped := wrapped_stop(exc)) is not None:  # a stop signal, not a bug
                raise stopped from None
            message = known_error(exc)
            if message is not None:
                raise CliError(message) from None
            report_bug(exc)
            raise click.exceptions.Exit(EXIT_BUG) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, with its "Did you mean" for the lazy commands too."""
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            from difflib import get_close_matches

            close = get_close_matches(name, list(COMMANDS), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        found, command, rest = super().resolve_command(ctx, args)
        words = [found or name]
        if isinstance(command, click.Group) and rest and rest[0] in command.list_commands(ctx):
            words.append(rest[0])
        from monitor.check.interrupt import command_began

        command_began(" ".join(words))  # a signal from here on stops a command under way
        return found, command, rest

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

    Exit codes: 0 healthy, 1 problems found, 2 usage or configuration error
    (or a file, port or database that cannot be used), 70 an internal error (a bug),
    130 cut short by Ctrl-C or SIGTERM. Each command's --help has its own.
    """


def main() -> None:
    from monitor.cli.streams import guard_standard_streams

    guard_standard_streams()  # before any file is opened: none may take descriptor 1 or 2
    stop_early()  # Ctrl-C or SIGTERM before a command takes them over: exit 130
    code: int | str | None = 0
    failed: str | None = None
    try:
        try:
            cli.main(prog_name="article-monitor")
        except SystemExit as exc:
            code = exc.code
        except KeyboardInterrupt:  # pragma: no cover - commands handle their own
            code = 130
        except OSError as exc:  # click writing (an `Error: …` line, --help) to a stream
            if exc.filename is not None:  # commands' own errors never get here (invoke)
                raise
            code, failed = EXIT_USAGE, exc.strerror or str(exc)
    finally:
        from monitor.check.gc_pace import end_of_process
        from monitor.check.interrupt import EXIT_INTERRUPTED, swallowed_on_the_way
        from monitor.cli.streams import flush_stdout, quiet_stderr, stderr_broken

        undelivered = flush_stdout()
        end_of_process()
        if swallowed_on_the_way():  # its exception caught on its way (swallowed_stop)
            code = EXIT_INTERRUPTED
    undelivered = undelivered or failed
    if undelivered is not None:  # the command's own exit code said it was delivered
        code = EXIT_USAGE
        with contextlib.suppress(OSError, ValueError):
            click.echo(f"Error: {undelivered}", err=True)
    if stderr_broken():  # else the interpreter's flush at exit fails: exit 120
        quiet_stderr()
    sys.exit(code)
