"""`article-monitor status` and `history`: read the daemon's database."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table
from rich.text import Text

from monitor.availability import describe as describe_availability
from monitor.cli.options import WholeRange, config_option, db_options, settings_from
from monitor.daemon.state import State
from monitor.observe.logs import escape as spell

if TYPE_CHECKING:
    from monitor.storage.repository import Repository


def _format_option(func: Any) -> Any:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        help="Output format [default: table on a terminal, json otherwise].",
    )(func)


def _fmt(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


@contextmanager
def _repo(config_file: Path | None, flags: dict[str, Any]) -> Iterator[Repository]:
    """The repository on the configured database, read only; any failure is `Error: …`."""
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.cli import CliError
    from monitor.storage.migrate import refuse_unreadable
    from monitor.storage.opening import DatabaseUnusable, explain, open_for_reading
    from monitor.storage.repository import Repository

    settings = settings_from(config_file, flags)
    url = settings.database_url()
    try:
        engine = open_for_reading(url)  # not fully checked: queries report damage they meet
    except DatabaseUnusable as exc:
        raise CliError(str(exc)) from None
    try:
        refuse_unreadable(engine)  # none, behind, newer, or damaged: say so before reading
        yield Repository(engine)
    except SQLAlchemyError as exc:
        raise CliError(explain(exc, url)) from None
    except DatabaseUnusable as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def _when(ms: int | None) -> str | None:
    from monitor.observe.status.document import rfc3339

    return rfc3339(ms)


def whole_ms(value: float | None) -> int | None:
    from monitor.observe.status.document import whole_ms as whole

    return whole(value)


def shown(text: str) -> str:
    """Corpus text inside a markup string: controls spelled out, markup inert."""
    return escape_markup(spell(text))


def _row(table: Table, *cells: str | None) -> None:
    """A table row of plain text: corpus values (URLs, provider domains, source
    paths) may hold `[…]`, which rich would read as markup (and `[/]` crash it), and
    terminal controls, which are spelled out as `verify` does."""
    table.add_row(*(Text(spell(cell or "")) for cell in cells))


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.command()
@config_option
@db_options
@_format_option
@click.option(
    "--limit",
    type=WholeRange(0, 100_000),
    default=20,
    show_default=True,
    help="Rows per section.",
)
def status(config_file: Path | None, fmt: str | None, limit: int, **flags: Any) -> None:
    """Targets by state, the providers with most targets down, recent
    transitions and articles whose `secured` field does not verify.

    \b
    Examples:
      article-monitor status --data-dir data
      article-monitor status --db postgresql+psycopg://monitor@db/monitor --format json

    Exit codes: 0 printed; 2 usage or configuration error, or a database that
    cannot be read (none yet: run the daemon first; behind: `db upgrade`).
    """
    from monitor.observe.status.document import status_document

    with _repo(config_file, flags) as repo:
        data = status_document(repo, limit)
    if _fmt(fmt) == "json":
        _emit(data)
        return
    console = Console(soft_wrap=False)
    t = Table(
        title=f"Targets ({data['articles']} articles, last check {data['last_check'] or 'never'})"
    )
    t.add_column("kind")
    for s in State:
        t.add_column(s.value, justify="right")
    for kind, row in data["targets"].items():
        _row(t, kind, *(str(row[s.value]) for s in State))
    console.print(t)
    if data["worst_providers"]:
        p = Table(title="Providers with targets down")
        for col in ("provider", "down", "targets"):
            p.add_column(col)
        for r in data["worst_providers"]:
            _row(p, r["provider"], str(r["down"]), str(r["targets"]))
        console.print(p)
    if data["recent_transitions"]:
        tr = Table(title="Recent transitions")
        for col in ("at", "from → to", "outcome", "kind", "url", "error"):
            # a code whole (folded, "connection_erro" / "r" was searched for in vain)
            tr.add_column(col, overflow="fold", no_wrap=col in ("outcome", "kind"))
        for r in data["recent_transitions"]:
            why = r.get("error") or ""  # why it went down (JSON and the API had it)
            _row(tr, r["at"], f"{r['from']} → {r['to']}", r["outcome"], r["kind"], r["url"], why)
        console.print(tr)
    if data["signature_problems"]:
        sp = Table(title="Signature problems")
        for col in ("status", "fields", "source", "webUrl"):
            sp.add_column(col, overflow="fold", no_wrap=col == "status")
        for r in data["signature_problems"]:
            _row(sp, r["status"], ", ".join(r["fields"]), r["source"], r["webUrl"])
        console.print(sp)
    if data["invalid_documents"]:
        console.print(f"[yellow]{data['invalid_documents']} invalid documents in the corpus[/]")
    if data["excluded_targets"]:
        console.print(f"{data['excluded_targets']} targets left out by exclude_urls")


# a target id is a positive whole number, an article id 16 hex digits: no id begins with `-`
_NOT_AN_ID = re.compile(r"-[0-9]+|0+")
IDS = (
    "a target id is a positive whole number and an article id 16 hex digits "
    "(the targets' ids: /api/v1/targets, or a target's URL in their place)"
)


class HistoryCommand(click.Command):
    """`history -1` said "No such option '-1'" (monitor.cli.negative_argument)."""

    argument_hint = f"no target or article has a negative id: {IDS}"


@click.command(cls=HistoryCommand)
@click.argument("query", metavar="TARGET-OR-ARTICLE")
@config_option
@db_options
@_format_option
@click.option(
    "--limit",
    type=WholeRange(0, 100_000),
    default=20,
    show_default=True,
    help="Recent results per target.",
)
def history(
    query: str, config_file: Path | None, fmt: str | None, limit: int, **flags: Any
) -> None:
    """The timeline of one target (its URL or numeric id) or of every target
    of one article (its id or webUrl): transitions, recent results, and its
    availability (the share of checks up) over the last 24 h, 7 d and 30 d.

    \b
    TARGET-OR-ARTICLE is one of:
      a target's URL          https://example.com/story/ (as the corpus writes it)
      a target's id           a positive whole number (/api/v1/targets, the status page)
      an article's id         16 hex digits (check --format json, /api/v1/articles)
      an article's webUrl     the article and every target it links
    One that begins with '-' goes after '--' (history -- -x); no id does.

    \b
    Examples:
      article-monitor history https://example.com/story/
      article-monitor history 42
      article-monitor history 6c3b12078d9965ad --format json

    Exit codes: 0 printed; 2 nothing matches, a usage or configuration error,
    or a database that cannot be read (none yet: run the daemon first).
    """
    try:  # bytes that are not UTF-8 arrive as lone surrogates, which no driver sends
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise click.UsageError(
            f"no target or article matches {query!r}: it is not UTF-8 text, and every "
            "URL and id in the database is"
        ) from None
    if _NOT_AN_ID.fullmatch(query.strip()):  # `history -- -1`, `history 0`: said, not looked for
        raise click.UsageError(f"no target or article matches {query!r}: {IDS}")
    from monitor.storage.availability import availability_document
    from monitor.storage.store import now_ms

    with _repo(config_file, flags) as repo:
        article, targets = repo.find_targets(query)
        if not targets and article is None:
            raise click.UsageError(f"no target or article matches {query!r}")
        out_targets = []
        for t in targets:
            trans, results = repo.target_history(t["id"], results=limit)
            events = repo.target_events(t["id"])
            out_targets.append(
                {
                    "id": t["id"],
                    "url": t["url"],
                    "kind": t["kind"],
                    "field": t.get("path"),
                    "state": t["state"],
                    "next_due": _when(t["next_due"]),
                    "last_error": t.get("last_error"),
                    "transitions": [
                        {
                            "at": _when(x["at"]),
                            "from": x["from_state"],
                            "to": x["to_state"],
                            "outcome": x["outcome"],
                            "problems": x["problems"].split(),
                            "error": x.get("error"),
                        }
                        for x in trans
                    ],
                    "results": [
                        {
                            "at": _when(r["checked_at"]),
                            "outcome": r["outcome"],
                            "http_status": r["http_status"],
                            "latency_ms": whole_ms(r["latency_ms"]),
                            "problems": (r["problems"] or "").split(),
                        }
                        for r in results
                    ],
                    "events": [
                        {"at": _when(e["at"]), "kind": e["kind"], "detail": e["detail"]}
                        for e in events
                    ],
                    "availability": availability_document(repo.availability(t["id"], now_ms())),
                }
            )
    data: dict[str, Any] = {"targets": out_targets}
    if article is not None:
        data["article"] = {
            "id": article["id"],
            "webUrl": article["web_url"],
            "source": article["source"],
            "signature": article["signature_status"],
            "problems": article["problems"].split(),
            # more than out_targets when the article has more than TARGETS_PER_ARTICLE
            "targets_total": article["targets_total"],
        }
    if _fmt(fmt) == "json":
        _emit(data)
        return
    console = Console(soft_wrap=False)
    if article is not None:
        console.print(
            f"[bold]{shown(article['web_url'])}[/] "
            f"({shown(article['id'])}, {shown(article['source'])})"
        )
    cut = None if article is None else part_shown(len(out_targets), article["targets_total"])
    if cut:
        console.print(f"[yellow]{cut}[/]")
    for t in out_targets:
        console.print(f"\n[bold]{shown(t['url'])}[/] \\[{t['kind']}] state [bold]{t['state']}[/]")
        if t["last_error"]:
            console.print(f"last error: {shown(t['last_error'])}")
        if t["transitions"]:
            tt = Table(title="Transitions")
            for col in ("at", "from → to", "outcome", "problems"):
                tt.add_column(col, no_wrap=col != "problems")
            tt.add_column("error", overflow="fold")  # what wraps in a narrow terminal
            for x in t["transitions"]:
                _row(
                    tt,
                    x["at"],
                    f"{x['from']} → {x['to']}",
                    x["outcome"],
                    " ".join(x["problems"]),
                    x["error"],
                )
            console.print(tt)
        if t["events"]:
            et = Table(title="Events")
            for col in ("at", "event", "detail"):
                et.add_column(col)
            for e in t["events"]:
                _row(et, e["at"], e["kind"], e["detail"])
            console.print(et)
        rt = Table(title="Recent results")
        for col in ("at", "outcome", "status", "latency ms", "problems"):
            rt.add_column(col)
        for r in t["results"]:
            _row(
                rt,
                r["at"],
                r["outcome"],
                str(r["http_status"] or ""),
                str(r["latency_ms"] if r["latency_ms"] is not None else ""),
                " ".join(r["problems"]),
            )
        console.print(rt)
        console.print(describe_availability(t["availability"]))
    if cut:  # again where a long listing ends, which is what a terminal shows
        console.print(f"\n[yellow]{cut}[/]")


def part_shown(shown_count: int, total: int) -> str | None:
    """What to say when an article's targets were listed in part (TARGETS_PER_ARTICLE)."""
    if shown_count >= total:
        return None
    return f"only the first {shown_count:,} of this article's {total:,} targets are shown"
