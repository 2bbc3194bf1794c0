"""`article-monitor run`: the daemon (scheduler, history in the database, /metrics)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli.options import (
    BrokenInstall,
    CorpusPath,
    Duration,
    bounds_help,
    check_options,
    corpus_readers_present,
    keyring_from,
    setting_flags,
    settings_from,
    verification_keys,
)
from monitor.config import ConfigError, Settings, load_settings

# sysexits' EX_TEMPFAIL: the database server could not be reached (yet) at the start;
# a service manager restarts this code, and not 2, which no restart mends
EXIT_TEMPFAIL = 75


@click.command()
@click.argument("paths", nargs=-1, type=CorpusPath())
@check_options
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Address of /metrics, /healthz, /readyz [default: 127.0.0.1:9464].",
)
@click.option(
    "--interval",
    type=Duration(),
    help=f"One re-check interval for every kind (overrides `intervals`) {bounds_help('interval')}.",
)
@click.option(
    "--once", is_flag=True, default=None, help="Check everything due once, record it, exit."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines as text or JSON [default: text].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="The least severe log lines written (debug: every check) [default: info].",
)
def run(paths: tuple[Path, ...], config_file: Path | None, **flags: Any) -> None:
    """Watch the corpus at PATH... (or the configured `paths`): check every
    target on its schedule, keep the history in the database, serve metrics.

    \b
    The database is SQLite under --data-dir unless --db names another
    (postgresql+psycopg://...); it is migrated on start. Logs go to stderr.
    SIGTERM/SIGINT: finish the checks in flight (for at most shutdown_grace
    seconds), flush, exit 0; with --once, exit 1 if targets were left due.
    SIGHUP: reload the configuration and re-read the corpus.

    \b
    Exit codes: 0 stopped cleanly; 1 with --once: results or the corpus
    could not be recorded (a corpus path missing or unreadable included),
    or a signal stopped it before every due target was checked (those left
    stay due); 2 a configuration, listen address or database that cannot be
    used (a SQLite file another `run` uses, a damaged database found while
    running included), or a broken install (a dependency missing); 75 the
    database server could not be reached at the start (refused, timed out,
    starting up), or another process held the SQLite file locked: a later
    try may work, and the systemd unit restarts this code, not 2; 130
    SIGTERM or SIGINT during the start, before the database was ready
    (nothing checked).

    \b
    Examples:
      article-monitor run examples/articles
      article-monitor run corpus/ --config monitor.toml   # auth set there for --listen 0.0.0.0:9464
      article-monitor run corpus/ --once --data-dir /var/lib/article-monitor
      article-monitor run corpus/ --exclude-url '^https?://ads\\.'
      curl -s 127.0.0.1:9464/metrics | grep article_monitor_targets
    """
    from monitor.check.interrupt import hold_for_exit
    from monitor.daemon.hup import ignore_stray_stops
    from monitor.daemon.notify import claim
    from monitor.daemon.prestart import reloads_held
    from monitor.daemon.signals import process_ends_with_daemon

    ignore_stray_stops()  # done at the CLI's first line too; here for other entries
    claim()  # before any checker process is spawned: $NOTIFY_SOCKET is this process's
    try:
        # a SIGHUP before the daemon's handler is a reload, not a death; a stop
        # signal after the daemon's stop is ignored (until another command begins)
        with reloads_held(), process_ends_with_daemon():
            _run(paths, config_file, flags)
    finally:
        # ending: a later SIGTERM or SIGINT (daemon/signals.py) must not take the default
        # action the interpreter puts back as it shuts down (143), whatever the exit code
        hold_for_exit()


def _run(paths: tuple[Path, ...], config_file: Path | None, flags: dict[str, Any]) -> None:
    from monitor.daemon.prestart import prestart
    from monitor.observe.logs import setup_logging
    from monitor.secured.keys import KeyRing

    settings = settings_from(config_file, flags, paths)
    if not settings.paths:
        raise click.UsageError("no PATH given (and no `paths` in the config file)")
    keyring = keyring_from(settings)
    setup_logging(settings.log_format, settings.log_level)
    flag_values = setting_flags({**flags, "paths": list(paths)} if paths else dict(flags))

    def reload() -> tuple[Settings, KeyRing]:
        new = load_settings(config_file, flag_values)
        keys = verification_keys(new)
        corpus_readers_present()  # a reload cannot skip a check the start made
        return new, keys

    # checker processes import on the other core while this one imports the daemon
    early = prestart(settings)
    try:
        from monitor.cli import CliError

        try:  # at the first scan, a broken install was a traceback and a daemon never ready
            corpus_readers_present()  # after prestart: ~60 ms the processes need not wait
        except BrokenInstall as exc:
            raise CliError(str(exc)) from None
        from monitor.daemon.service import Daemon
        from monitor.daemon.sqlite_lock import held
        from monitor.storage.opening import DatabaseUnreachable, DatabaseUnusable

        try:
            # before the database is opened (or made): a second daemon on one SQLite
            # file is refused having written nothing (sqlite_lock.py)
            with held(settings.database_url()) as lock:
                daemon = Daemon(
                    settings, keyring, reload=reload, prestarted=early, sole=lock is not None
                )
                daemon.sqlite_lock = lock
                code = asyncio.run(daemon.run())
        except DatabaseUnreachable as exc:  # PostgreSQL not up yet: a restart may mend it
            click.echo(f"Error: {exc} (exit {EXIT_TEMPFAIL}: try again later)", err=True)
            sys.exit(EXIT_TEMPFAIL)
        except (ConfigError, DatabaseUnusable) as exc:
            raise CliError(str(exc)) from None
    finally:
        early.discard()  # those the daemon did not take (it stopped first)
    if daemon.failure is not None:
        click.echo(f"Error: {daemon.failure}", err=True)
    elif settings.once and code == 0 and daemon.last_scan is not None:
        # a cron job's only signal: a corpus path missing or unreadable is not a clean pass
        problems = daemon.last_scan.problems
        if problems:
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            click.echo(f"Error: {'; '.join(problems[:3])}{more}", err=True)
            code = 1
    sys.exit(code)
