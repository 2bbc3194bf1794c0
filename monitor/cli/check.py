"""`article-monitor check`: one-shot load, verify, check every target, report."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.check import prestart
from monitor.check.interrupt import (
    EXIT_INTERRUPTED,
    Interrupted,
    StopSignals,
    hold_for_exit,
    wrapped_stop,
)
from monitor.cli.options import (
    FORMATS,
    CorpusPath,
    Whole,
    check_options,
    keyring_from,
    settings_from,
)
from monitor.cli.output_path import (
    nothing_found,
    output_clash,
    read_by,
    stdout_clash,
)
from monitor.cli.paths import GivenPath
from monitor.cli.report_file import ReportFile
from monitor.cli.streams import CLOSED_STDOUT, stdout_closed
from monitor.config import Settings
from monitor.durations import bound

# the help reads the bound from the setting (as bounds_help does for the others)
_WORKERS_MAX = int(bound(Settings.model_fields["workers"], "le") or 0)

if TYPE_CHECKING:  # imported in the command, after the workers are spawned
    from rich.console import Console

    from monitor.check.report import ReportWriter, Tally

# CONTRACT section 2: 0 healthy, 1 problems, 2 usage (click raises UsageError with 2),
# 130 interrupted (monitor.check.interrupt)
EXIT_OK, EXIT_PROBLEMS = 0, 1


def make_writer(fmt: str, out: Any) -> ReportWriter:
    # only the one writer asked for is imported (the others cost ~25 ms of start-up)
    if fmt == "json":
        from monitor.check.report import JsonWriter

        return JsonWriter(out)
    if fmt == "junit":
        from monitor.check.report import JunitWriter

        return JunitWriter(out)
    if fmt == "markdown":
        from monitor.check.report import MarkdownWriter

        return MarkdownWriter(out)
    from rich.console import Console

    from monitor.check.report import TableWriter

    tty = getattr(out, "isatty", lambda: False)()
    return TableWriter(Console(file=out, width=None if tty else 160))


def resolve_format(settings: Settings, out: Any) -> str:
    if settings.format:
        return settings.format
    return "table" if getattr(out, "isatty", lambda: False)() else "json"


@click.command()
@click.argument("paths", nargs=-1, type=CorpusPath())
@check_options
@click.option(
    "--format",
    "format",
    type=click.Choice(FORMATS),
    help="Report format [default: table on a terminal, json otherwise].",
)
@click.option(
    "--offline", is_flag=True, default=None, help="No network: static checks and signatures only."
)
@click.option(
    "--workers",
    type=Whole(),
    metavar="N",
    help=f"Checker processes, this one included (0-{_WORKERS_MAX}) [default: 0 = one per core (at "
    "most 4) for runs of 60,000 targets or more, else 1]. Targets are split by "
    "host, so each host's politeness stays in one process; N-1 worker processes "
    "start before the corpus loads (with 0: once 60,000 targets are found, or at "
    "once for corpus files of 15 MB or more) and get targets as they are found.",
)
@click.option(
    "-o",
    "--output",
    type=GivenPath(dir_okay=False, dash="stdout"),
    help="Write the report to FILE instead of stdout ('-': stdout). A regular FILE is replaced "
    "whole when the report is complete (written beside it, then renamed); on an "
    "error it keeps what it held.",
)
def check(
    paths: tuple[Path, ...], config_file: Path | None, output: Path | None, **flags: Any
) -> None:
    """Check PATH... now: load every document, run the static checks, verify
    `secured`, fetch every web, AMP, CDN and image URL, and print a report.

    \b
    PATH is a file or a directory (searched for *.txt *.md *.yaml *.yml *.json
    *.jsonl *.ndjson). Nothing but the report goes to stdout; a progress bar
    goes to stderr when it is a terminal. `check` records nothing: --db and
    --data-dir are accepted so one config file serves `check` and `run`.

    \b
    Examples:
      article-monitor check examples/articles --offline
      article-monitor check corpus/ --format junit -o report.xml
      article-monitor check a.txt --connect-to ::127.0.0.1:8443 --allow-network 127.0.0.0/8
      article-monitor check corpus/ --exclude-url '^https?://ads\\.'

    \b
    Exit codes: 0 everything healthy; 1 at least one problem (an invalid
    document counts), or a checker process failed; 2 usage or configuration
    error, or a broken install: a dependency missing or failing to import
    (nothing checked, or, met midway, the report so far marked
    "incomplete"); 130 cut short by Ctrl-C or SIGTERM (a valid partial
    report, marked "incomplete", is still printed).
    """
    stop = StopSignals()
    workers: list[Any] = []  # spawned before the heavy imports (monitor.check.prestart)
    report = ReportFile(output) if output else None  # FILE is left as it was but by commit
    try:
        stop.install()  # first thing: Ctrl-C or SIGTERM from here on ends in exit 130
        settings = settings_from(config_file, flags, paths)
        if not settings.paths:
            raise click.UsageError("no PATH given (and no `paths` in the config file)")
        clash = None
        if output is not None:
            clash = output_clash(output, settings.paths, read_by(settings, config_file))
        else:  # `> FILE`: the shell made it already
            clash = stdout_clash(settings, config_file)
        if clash is not None:
            raise click.UsageError(clash)
        if output is None and stdout_closed():
            raise click.UsageError(f"{CLOSED_STDOUT}, or write the report with -o FILE")
        tls = None
        if settings.ca_bundle is not None and not settings.offline:
            from monitor.http.tls import make_ssl_context

            # a bad bundle: exit 2 before any report; a good one serves the run (loaded once)
            tls = make_ssl_context(settings.ca_bundle)
        # each worker imports on another core while this process imports and reads
        workers = prestart.spawn(
            prestart.workers_wanted(settings.workers, settings.offline, settings.paths) - 1,
            prestart.CHECK_WORKER_ARGS,
        )
        from monitor.check.oneshot import run_check

        keyring = keyring_from(settings)
        out: Any = report.open() if report else sys.stdout
        fmt = resolve_format(settings, out)
        writer = make_writer(fmt, out)
    except BaseException as exc:
        if report:
            report.discard()
        stopped = exc if isinstance(exc, Interrupted) else wrapped_stop(exc)
        if isinstance(stopped, Interrupted):
            prestart.discard(workers)
            hold_for_exit()
            _stderr().print(stopped.message(), highlight=False)
            sys.exit(EXIT_INTERRUPTED)
        # a usage error on its way out: a signal now is only noted
        stop.arm()
        prestart.discard(workers)
        if stopped is not None:  # the early handler's exit, wrapped (wrapped_stop)
            raise stopped from None
        raise
    stop.arm()  # a signal now cancels the run, which still writes its report

    show_progress = sys.stderr.isatty() and not settings.offline
    # rich (~25 ms of imports) only for a terminal's progress bar and messages
    bar: Any = _progress_bar() if show_progress else contextlib.nullcontext()
    task = bar.add_task("check", total=None) if show_progress else None
    if show_progress:
        # JSON streams its articles as they are done: on the bar's own terminal it is
        # the progress, and the bar's redraws would erase its lines
        on_screen = report is None and getattr(out, "isatty", lambda: False)()
        writer = BarFirst(writer, bar, streams=fmt == "json" and on_screen)

    last = 0.0

    def on_progress(done: int, total: int) -> None:
        # rich redraws ~10 times a second; telling it more often is wasted CPU
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.05 or done == total:
            last = now
            bar.update(task, completed=done, total=total)

    async def main() -> Tally:
        stop.attach()
        try:
            return await run_check(
                settings,
                keyring,
                writer,
                progress=on_progress if show_progress else None,
                prestarted=workers,
                tls=tls,
            )
        finally:
            stop.detach()

    # on every path the file is closed: the process's end freezes what is alive
    # (check.gc_pace), so a file left open would never be flushed by its finalizer
    try:
        with bar:
            tally = asyncio.run(main())
    except BaseException:
        if report:
            report.discard()  # an error: FILE keeps the last report
        raise
    if report:
        report.commit()  # exit 0, 1 or 130 (a valid partial report): it replaces FILE
    if tally.failure:
        _stderr().print(f"[bold red]error:[/] {tally.failure}", highlight=False)
    if not (tally.articles or tally.invalid_documents or tally.incomplete):
        click.echo(nothing_found(settings.paths), err=True)
    if stop.received is not None:
        name = signal.Signals(stop.received).name
        what = "a partial report, marked incomplete" if tally.incomplete else "the report"
        _stderr().print(f"interrupted ({name}): {what} was written", highlight=False)
    code = exit_code(tally, interrupted=stop.interrupted)
    if hold_for_exit():  # one came after the run: it is over, but it was cut at the end
        code = EXIT_INTERRUPTED
    sys.exit(code)


class BarFirst:
    """A report writer that takes the progress bar off the screen before it writes.

    The bar redraws from its own thread until the run's end, and the table,
    Markdown and JUnit reports are written at the end: on one terminal the
    report went out between two redraws, so its first line followed the bar's
    ("checking ━━ 1/102 0:00:00examples/…") and the summary line, last,
    followed the bar's final redraw ("… 102/102 0:00:0018 articles, …").
    """

    def __init__(self, writer: ReportWriter, bar: Any, *, streams: bool) -> None:
        self._writer = writer
        self._bar = bar
        self._streams = streams

    def begin(self, invalid: Any) -> None:
        if self._streams:
            self._bar.stop()
        self._writer.begin(invalid)

    def article(self, entry: Any, rows: Any) -> None:
        self._writer.article(entry, rows)

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        self._bar.stop()  # idempotent; transient: the bar's line is erased
        self._writer.finish(tally, elapsed_s)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _progress_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_stderr(),
        transient=True,
    )


def exit_code(tally: Tally, *, interrupted: bool) -> int:
    """CONTRACT section 2: 130 when cut short by a signal (whatever was found
    before), else 1 for any problem or an incomplete run, else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PROBLEMS if tally.problems or tally.incomplete else EXIT_OK
