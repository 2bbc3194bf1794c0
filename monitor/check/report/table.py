"""The human report (`--format table`): findings only, grouped by article."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.check.invalid_spill import InvalidList
from monitor.check.report.rows import ArticleEntry, Tally, TargetRow
from monitor.observe.terminal import plain


@dataclass(slots=True)
class _Finding:
    source: str
    web_url: str
    kind: str
    url: str
    outcome: str
    note: str  # the HTTP status of a failed target, or its error when it has no problem
    problems: list[tuple[str, str]]  # (code, message)


def _findings_of(entry: ArticleEntry, rows: list[TargetRow]) -> list[_Finding]:
    out = []
    where = f"{entry.source}:{entry.line}"
    for p in entry.problems:
        out.append(
            _Finding(where, entry.web_url, "article", p.field or "", "", "", [(p.code, p.message)])
        )
    for row in rows:
        if row.healthy:
            continue
        r = row.result
        notes = []
        if r is not None and r.http_status and not r.outcome.is_up:
            notes.append(f"HTTP {r.http_status}")
        if r is not None and r.error and not row.problems:
            notes.append(r.error)
        out.append(
            _Finding(
                where,
                entry.web_url,
                row.ref.kind.value,
                row.url,
                r.outcome.value if r else "",
                "; ".join(notes),
                [(p.code, p.message) for p in row.problems],
            )
        )
    return out


def _detail(f: _Finding) -> Text:
    """The note, then each problem on a line of its own, its code first and whole:
    in a column of their own, codes were folded mid-word to the column's width
    ("provider_domain_mi" / "smatch"), so a search for the code found nothing."""
    cell = plain(f.note)
    for code, message in f.problems:
        if cell:
            cell.append("\n")
        cell.append_text(plain(code, "bold"))
        cell.append_text(plain(f": {message}"))
    return cell


def summary_line(tally: Tally, elapsed_s: float) -> str:
    """`N ok` counts the healthy targets (an ok outcome and no problem, as
    `summary.ok`); the outcomes are named as such, or "2 ok, … (ok 105)" read as
    two answers to one question. Targets never requested (`--offline`) are said,
    not left to read as "0 ok, 0 problems"."""
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(tally.by_outcome.items()))
    unrequested = tally.targets - sum(tally.by_outcome.values())
    text = (
        f"{tally.articles} articles, {tally.targets} targets"
        + (f" ({unrequested} not requested)" if unrequested > 0 else "")
        + f", {tally.ok} ok, {tally.problems} problems"
        + (f", {tally.invalid_documents} invalid documents" if tally.invalid_documents else "")
        + (f", {tally.excluded} excluded by exclude_urls" if tally.excluded else "")
        + (f" (outcomes: {outcomes})" if outcomes else "")
        + f" in {elapsed_s:.2f}s"
    )
    if not tally.incomplete:
        return text
    why = "a checker failed" if tally.failure else "interrupted"
    return f"{text} — INCOMPLETE ({why})"


class TableWriter:
    """Human report: findings only (healthy targets are counted, not listed),
    grouped under the article they belong to."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.invalid: InvalidList = []
        self.rows: list[_Finding] = []
        self.signatures: Counter[str] = Counter()

    def begin(self, invalid: InvalidList) -> None:
        self.invalid = invalid

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        if entry.signature is not None:
            self.signatures[entry.signature.status.value] += 1
        self.rows.extend(_findings_of(entry, rows))

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        c = self.console
        if self.invalid:
            t = Table(title="Invalid documents", title_justify="left", title_style="bold")
            t.add_column("source", overflow="fold")
            t.add_column("line", justify="right")
            t.add_column("error", overflow="fold", ratio=1)
            for d in self.invalid:
                t.add_row(plain(d.source), str(d.line or ""), plain(d.error))
            c.print(t)
        article = None
        table: Table | None = None
        for f in self.rows:
            if f.source != article:
                if table is not None:
                    c.print(table)
                article = f.source
                table = Table(
                    title=plain(f"{f.source}  {f.web_url}"),
                    title_justify="left",
                    title_style="bold",
                    expand=True,
                )
                table.add_column("kind")
                table.add_column("target / field", overflow="fold", ratio=3)
                table.add_column("outcome", no_wrap=True)
                table.add_column("problem: detail", overflow="fold", ratio=4)
            assert table is not None
            style = "red" if f.outcome and f.outcome not in ("ok", "moved") else "yellow"
            table.add_row(f.kind, plain(f.url), plain(f.outcome, style), _detail(f))
        if table is not None:
            c.print(table)
        if self.signatures:
            sig = ", ".join(f"{k} {v}" for k, v in sorted(self.signatures.items()))
            c.print(f"signatures: {sig}")
        style = "bold green" if tally.problems == 0 else "bold red"
        c.print(Text(summary_line(tally, elapsed_s), style=style))
