"""The Markdown report: the table report's findings as one Markdown document."""

from __future__ import annotations

from typing import IO

from rich.console import Console

from monitor.check.report.rows import Tally
from monitor.check.report.table import TableWriter, summary_line
from monitor.observe.logs import escape

# What makes a link or an image of a cell's text (`[x](URL)`, `![](URL)`, `[x][1]`),
# backslash-escaped, with the backslash itself and the table's pipe; `<` (an
# autolink, raw HTML) is an entity already. A forge's own syntax becomes an
# entity, which renders as the character: `$` (GitHub renders `$…$` as math,
# and a backslash does not stop it there) and `@` (a mention notifies whoever
# it names). Emphasis and code spans stay: they fetch nothing, and escaping
# them made every problem code and URL unreadable
_INERT = str.maketrans({c: "\\" + c for c in "\\[]|"} | {"$": "&#36;", "@": "&#64;"})


class MarkdownWriter(TableWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__(Console(file=out))
        self.out = out

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        def cell(text: str) -> str:
            """One table cell: controls escaped, no pipe, newline, raw HTML or
            Markdown of its own: a server's or a document's text made no link
            or image (`[click](…)`, `![](…)`) in a report read on a forge."""
            text = escape(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            return text.translate(_INERT)

        w = self.out.write
        w("# article-monitor report\n\n")
        w(f"**{summary_line(tally, elapsed_s)}**\n\n")
        if self.invalid:
            w("## Invalid documents\n\n| source | line | error |\n|---|---:|---|\n")
            for d in self.invalid:
                w(f"| {cell(d.source)} | {d.line or ''} | {cell(d.error)} |\n")
            w("\n")
        if self.rows:
            w("## Findings\n\n| article | kind | target / field | outcome | problem | detail |\n")
            w("|---|---|---|---|---|---|\n")
            for f in self.rows:
                codes = ", ".join(code for code, _ in f.problems)
                detail = "; ".join(([f.note] if f.note else []) + [m for _, m in f.problems])
                w(
                    f"| {cell(f.source)} | {f.kind} | {cell(f.url)} | {f.outcome} | "
                    f"{cell(codes)} | {cell(detail)} |\n"
                )
            w("\n")
        if self.signatures:
            sig = ", ".join(f"{k} {v}" for k, v in sorted(self.signatures.items()))
            w(f"Signatures: {sig}\n")
        self.out.flush()
