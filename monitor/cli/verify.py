"""`article-monitor verify`: the `secured` field of every article, checked; no network.

Thin over monitor.secured.verify; the report is a table or JSON.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import click
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from monitor.check.interrupt import EXIT_INTERRUPTED, NotedStop, hold_for_exit
from monitor.check.invalid_spill import InvalidList, InvalidSpill, batches
from monitor.cli.options import (
    CorpusPath,
    config_option,
    exclude_option,
    key_options,
    keyring_from,
    settings_from,
)
from monitor.cli.output_path import stdout_clash
from monitor.corpus.article import InvalidDocument
from monitor.vocabulary import SignatureResult, SignatureStatus

EXIT_OK, EXIT_PROBLEMS = 0, 1


class Verified(NamedTuple):
    """What the report shows of one article: the document itself is not kept (its
    record and model were ~8 KB an article: 412 MB peak for 50,000)."""

    id: str
    source: str
    line: int
    web_url: str
    result: SignatureResult


_STATUS_STYLE = {
    SignatureStatus.VALID: "green",
    SignatureStatus.MISSING: "yellow",
    SignatureStatus.UNVERIFIED: "yellow",
}


def _verify_json(
    results: list[Verified], invalid: InvalidList, *, incomplete: bool
) -> Iterator[str]:
    """The JSON report, as `json.dumps(document, indent=2)` writes it, in pieces:
    the invalid documents are written as they are read back (a corpus may hold
    millions of them), never as one list or one text."""
    by_status: dict[str, int] = {}
    for v in results:
        by_status[v.result.status.value] = by_status.get(v.result.status.value, 0) + 1
    problems = sum(1 for v in results if v.result.status.is_problem)
    summary: dict[str, Any] = {
        "articles": len(results),
        "problems": problems + len(invalid),
        "invalid_documents": len(invalid),
        "by_status": dict(sorted(by_status.items())),
    }
    if incomplete:
        summary["incomplete"] = True
    head = _dumps({"version": 1, "summary": summary})
    yield head[: -len("\n}")] + ',\n  "invalid_documents": ['
    first = True
    for batch in batches(invalid):
        # a list's items at one level deeper: JSON text holds no raw newline
        lines = _dumps([d.to_json() for d in batch])[len("[\n") : -len("\n]")].split("\n")
        yield ("\n" if first else ",\n") + "\n".join("  " + line for line in lines)
        first = False
    yield "]" if first else "\n  ]"
    yield from _listed("articles", results)


def _listed(name: str, results: list[Verified]) -> Iterator[str]:
    """The report's last member, the articles, a batch at a time: the text of them
    all at once (with their dicts) was the peak, ~2.5 KB an article."""
    yield f',\n  "{name}": ['
    first = True
    for batch in batches(results):
        items = [
            {
                "id": v.id,
                "source": v.source,
                "line": v.line,
                "webUrl": v.web_url,
                "signature": v.result.to_json(),
            }
            for v in batch
        ]
        lines = _dumps(items)[len("[\n") : -len("\n]")].split("\n")
        yield ("\n" if first else ",\n") + "\n".join("  " + line for line in lines)
        first = False
    yield ("]" if first else "\n  ]") + "\n}"


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def shown(text: str) -> str:
    """Text for the table: control characters spelled out, rich markup inert."""
    from monitor.observe.logs import escape

    return escape_markup(escape(text))


def _verify_table(
    console: Console,
    results: list[Verified],
    invalid: InvalidList,
) -> None:
    table = Table(show_lines=False, expand=False)
    table.add_column("status")
    table.add_column("article", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("detail", overflow="fold")
    for v in results:
        result = v.result
        style = _STATUS_STYLE.get(result.status, "bold red")
        detail = result.detail
        if result.fields:
            detail = f"fields: {', '.join(result.fields)}. {detail}"
        table.add_row(
            f"[{style}]{result.status.value}[/]",
            shown(v.web_url),
            shown(f"{v.source}:{v.line}"),
            shown(detail),
        )
    if results:
        console.print(table)
    for bad in invalid:
        where = f"{bad.source}:{bad.line}" if bad.line is not None else bad.source
        console.print(f"[bold red]invalid document[/] {shown(where)}: {shown(bad.error)}")
    counts: dict[str, int] = {}
    for v in results:
        counts[v.result.status.value] = counts.get(v.result.status.value, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
    console.print(f"{len(results)} article(s): {summary}; {len(invalid)} invalid document(s)")


@click.command()
@click.argument("paths", nargs=-1, type=CorpusPath())
@config_option
@key_options
@exclude_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    help="Report format [default: table on a terminal, json otherwise].",
)
def verify(
    paths: tuple[Path, ...],
    config_file: Path | None,
    output_format: str | None,
    **flags: Any,
) -> None:
    """Verify the `secured` field of every article under PATH...; no network.

    \b
    Keys: --key-file FILE (repeatable, for rotation), ARTICLE_MONITOR_KEY_FILE,
    or the key itself, hex or base64, in ARTICLE_MONITOR_KEY. An AES-256 key
    checks legacy and v2 envelopes; an Ed25519 public key (.pub, from keygen)
    checks ed25519 envelopes. The kid of a key file is its name up to the
    first dot; name it explicitly with --key-file KID=PATH.

    \b
    Status per article: valid, tampered (names the fields that differ where
    the envelope can tell), undecryptable (wrong key or corrupted), malformed
    (not an envelope), unknown_key (no key with that kid), missing (no
    `secured`), unverified (no key configured). See docs/signatures.md.

    \b
    Examples:
      article-monitor verify examples/articles --key-file publisher.key
      article-monitor verify corpus/ --key-file old.key --key-file new.key --format json
      article-monitor verify corpus/ --key-file signer.key.pub

    \b
    Exit codes: 0 no problem (missing and unverified are not problems);
    1 tampered, undecryptable, malformed or unknown_key, or an invalid
    document; 2 usage or configuration error (e.g. a key file others can read);
    130 cut short by Ctrl-C or SIGTERM (the report of what was verified,
    marked incomplete, is still printed).
    """
    from monitor.corpus import iter_documents
    from monitor.secured.verify import verify_document

    settings = settings_from(config_file, flags, paths)
    if not settings.paths:
        raise click.UsageError("no PATH given (and no `paths` in the config file)")
    if (clash := stdout_clash(settings, config_file)) is not None:  # `verify a.txt > a.txt`
        raise click.UsageError(clash)
    keyring = keyring_from(settings)
    fmt = output_format
    if fmt is None:
        fmt = settings.format if settings.format in ("table", "json") else None
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "json"

    results: list[Verified] = []
    invalid = InvalidSpill()  # bounded memory: a corpus may hold millions
    stop = NotedStop()
    stop.install()  # from here a signal ends the loop, and what was verified is reported
    for item in iter_documents(settings.paths):
        if stop.received is not None:
            break
        if isinstance(item, InvalidDocument):
            invalid.append(item)
            continue
        result = verify_document(item.raw, keyring, exclude=settings.exclude_fields)
        results.append(Verified(item.id, item.source, item.line, item.article.webUrl, result))

    cut = stop.received is not None
    if not (results or invalid or cut):
        from monitor.cli.output_path import nothing_found

        click.echo(nothing_found(settings.paths), err=True)
    with invalid:
        if fmt == "json":
            for piece in _verify_json(results, invalid, incomplete=cut):
                click.echo(piece, nl=False)
            click.echo()
        else:
            _verify_table(Console(file=sys.stdout, soft_wrap=False), results, invalid)
            if cut:
                click.echo("incomplete: cut short; the documents after these were not verified")
    if hold_for_exit() or stop.received is not None:  # CONTRACT section 2: exit 130
        name = signal.Signals(stop.received or signal.SIGINT).name
        what = "a partial report, marked incomplete," if cut else "the report"
        click.echo(f"interrupted ({name}): {what} was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    problems = invalid or any(v.result.status.is_problem for v in results)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)
