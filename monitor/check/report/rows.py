"""The `check` report (CONTRACT section 3): entries, tallies and the four writers.

Writers receive articles one at a time, in input order, as soon as all of
an article's targets are done, so the JSON writer can stream a report of
50,000 targets without holding it. That is why the JSON document puts
`summary` last: key order carries no meaning in JSON, and the summary is
only known at the end.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol
from xml.sax.saxutils import escape, quoteattr

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.classify import findings
from monitor.corpus.article import InvalidDocument
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Problem, Redirect, SignatureResult

REPORT_VERSION = 1


@dataclass(slots=True)
class ArticleEntry:
    """What the report needs of one document; the raw record is not kept."""

    id: str
    source: str
    line: int
    web_url: str
    signature: SignatureResult | None
    problems: list[Problem]
    refs: list[tuple[str, TargetRef]]


@dataclass(slots=True)
class TargetRow:
    url: str
    ref: TargetRef
    result: CheckResult | None
    problems: list[Problem]

    @property
    def healthy(self) -> bool:
        if self.problems:
            return False
        return self.result is None or self.result.outcome.is_up


def target_rows(entry: ArticleEntry, results: Mapping[str, CheckResult | None]) -> list[TargetRow]:
    """Targets of one article that have a result (or that were not meant to be fetched)."""
    rows = []
    for url, ref in entry.refs:
        if url not in results:
            continue  # unfinished (run cut short): left out, per the contract
        result = results[url]
        problems = findings(result, ref) if result is not None else []
        rows.append(TargetRow(url, ref, result, problems))
    return rows


def target_json(row: TargetRow) -> dict[str, Any]:
    r = row.result
    return {
        "url": row.url,
        "kind": row.ref.kind.value,
        "origin": row.ref.origin.value,
        "field": row.ref.path,
        "outcome": r.outcome.value if r else None,
        "http_status": r.http_status if r else None,
        "final_url": r.final_url if r else None,
        "redirects": [{"status": h.status, "location": h.location} for h in r.redirects]
        if r
        else [],
        "latency_ms": round(r.latency_ms, 1) if r and r.latency_ms is not None else None,
        "attempts": r.attempts if r else 0,
        "error": r.error if r else None,
        "problems": [p.to_json() for p in row.problems],
    }


def article_json(entry: ArticleEntry, rows: list[TargetRow]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "source": entry.source,
        "webUrl": entry.web_url,
        "signature": entry.signature.to_json() if entry.signature else None,
        "problems": [p.to_json() for p in entry.problems],
        "targets": [target_json(row) for row in rows],
    }


# The JSON report writes the text of `article_json` directly: building a dict
# per target and encoding it was most of the report's CPU (a 50,000-target
# report). tests/unit/test_report_json.py holds the text to
# `json.dumps(article_json(...), ensure_ascii=False)`, byte for byte.
_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)
_encode = _ENCODER.encode
_string = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it


def _str_or_null(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _int_or_null(value: int | None) -> str:
    if value is None:
        return "null"
    return int.__repr__(value) if type(value) is int else _encode(value)


def _number_or_null(value: float | None) -> str:
    if value is None:
        return "null"
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    return _encode(value)  # NaN, infinities: as json.dumps spells them


def _redirects_text(redirects: list[Redirect]) -> str:
    return (
        "["
        + ", ".join(
            f'{{"status": {_int_or_null(h.status)}, "location": {_string(h.location)}}}'
            for h in redirects
        )
        + "]"
    )


def _problems_text(problems: list[Problem]) -> str:
    return _encode([p.to_json() for p in problems]) if problems else "[]"


def target_text(row: TargetRow) -> str:
    """`target_json(row)` as JSON text."""
    r, ref = row.result, row.ref
    head = (
        f'{{"url": {_string(row.url)}, "kind": {_string(ref.kind)}, '
        f'"origin": {_string(ref.origin)}, "field": {_string(ref.path)}, '
    )
    problems = _problems_text(row.problems)
    if r is None:
        return (
            f'{head}"outcome": null, "http_status": null, "final_url": null, "redirects": [], '
            f'"latency_ms": null, "attempts": 0, "error": null, "problems": {problems}}}'
        )
    latency = round(r.latency_ms, 1) if r.latency_ms is not None else None
    return (
        f'{head}"outcome": {_string(r.outcome)}, "http_status": {_int_or_null(r.http_status)}, '
        f'"final_url": {_str_or_null(r.final_url)}, "redirects": {_redirects_text(r.redirects)}, '
        f'"latency_ms": {_number_or_null(latency)}, "attempts": {_int_or_null(r.attempts)}, '
        f'"error": {_str_or_null(r.error)}, "problems": {problems}}}'
    )


def article_text(entry: ArticleEntry, rows: list[TargetRow]) -> str:
    """`article_json(entry, rows)` as JSON text."""
    head = _encode(
        {
            "id": entry.id,
            "source": entry.source,
            "webUrl": entry.web_url,
            "signature": entry.signature.to_json() if entry.signature else None,
            "problems": [p.to_json() for p in entry.problems],
        }
    )
    return f'{head[:-1]}, "targets": [{", ".join(target_text(row) for row in rows)}]}}'


@dataclass(slots=True)
class Tally:
    """Summary counts. `problems` counts findings: failed targets, problem entries
    at article and target level, and invalid documents."""

    articles: int = 0
    targets: int = 0
    ok: int = 0
    problems: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_problem: Counter[str] = field(default_factory=Counter)
    invalid_documents: int = 0
    incomplete: bool = False
    failure: str | None = None  # why the run could not finish, when it was not Ctrl-C

    def add_invalid(self, count: int = 1) -> None:
        if not count:
            return
        self.invalid_documents += count
        self.problems += count
        self.by_problem["invalid_document"] += count

    def add_article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.articles += 1
        self.targets += len(rows)
        self._add_problems(entry.problems)
        by_outcome = self.by_outcome
        for row in rows:
            if row.problems:
                self._add_problems(row.problems)
            result = row.result
            if result is None:
                continue
            by_outcome[result.outcome.value] += 1
            if not result.outcome.is_up:
                self.problems += 1
            elif not row.problems:  # healthy
                self.ok += 1

    def _add_problems(self, problems: list[Problem]) -> None:
        self.problems += len(problems)
        self.by_problem.update(p.code.value for p in problems)

    def to_json(self, elapsed_s: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "articles": self.articles,
            "targets": self.targets,
            "ok": self.ok,
            "problems": self.problems,
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_problem": dict(sorted(self.by_problem.items())),
            "invalid_documents": self.invalid_documents,
            "elapsed_s": round(elapsed_s, 3),
        }
        if self.incomplete:
            out["incomplete"] = True
        return out


class ReportWriter(Protocol):
    def begin(self, invalid: list[InvalidDocument]) -> None: ...
    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None: ...
    def finish(self, tally: Tally, elapsed_s: float) -> None: ...


class JsonWriter:
    """Streams the report: one article object written as soon as it is complete."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._first = True

    def begin(self, invalid: list[InvalidDocument]) -> None:
        docs = json.dumps([d.to_json() for d in invalid], ensure_ascii=False)
        self.out.write(f'{{"version": {REPORT_VERSION}, "invalid_documents": {docs}, "articles": [')

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.out.write("\n" if self._first else ",\n")
        self._first = False
        self.out.write(article_text(entry, rows))

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        summary = json.dumps(tally.to_json(elapsed_s), ensure_ascii=False)
        self.out.write(f'\n], "summary": {summary}}}\n')
        self.out.flush()


@dataclass(slots=True)
class _Finding:
    source: str
    web_url: str
    kind: str
    url: str
    outcome: str
    codes: str
    detail: str


def _findings_of(entry: ArticleEntry, rows: list[TargetRow]) -> list[_Finding]:
    out = []
    where = f"{entry.source}:{entry.line}"
    for p in entry.problems:
        out.append(_Finding(where, entry.web_url, "article", p.field or "", "", p.code, p.message))
    for row in rows:
        if row.healthy:
            continue
        r = row.result
        detail = "; ".join(p.message for p in row.problems) or (r.error if r and r.error else "")
        if r is not None and r.http_status and not r.outcome.is_up:
            detail = f"HTTP {r.http_status}" + (f"; {detail}" if detail else "")
        out.append(
            _Finding(
                where,
                entry.web_url,
                row.ref.kind.value,
                row.url,
                r.outcome.value if r else "",
                ", ".join(p.code for p in row.problems),
                detail,
            )
        )
    return out


def _summary_line(tally: Tally, elapsed_s: float) -> str:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(tally.by_outcome.items()))
    text = (
        f"{tally.articles} articles, {tally.targets} targets, {tally.ok} ok, "
        f"{tally.problems} problems"
        + (f", {tally.invalid_documents} invalid documents" if tally.invalid_documents else "")
        + (f" ({outcomes})" if outcomes else "")
        + f" in {elapsed_s:.2f}s"
    )
    return text + (" — INCOMPLETE (interrupted)" if tally.incomplete else "")


class TableWriter:
    """Human report: findings only (healthy targets are counted, not listed),
    grouped under the article they belong to."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.invalid: list[InvalidDocument] = []
        self.rows: list[_Finding] = []
        self.signatures: Counter[str] = Counter()

    def begin(self, invalid: list[InvalidDocument]) -> None:
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
                t.add_row(d.source, str(d.line or ""), d.error)
            c.print(t)
        article = None
        table: Table | None = None
        for f in self.rows:
            if f.source != article:
                if table is not None:
                    c.print(table)
                article = f.source
                table = Table(
                    title=f"{f.source}  {f.web_url}",
                    title_justify="left",
                    title_style="bold",
                    expand=True,
                )
                table.add_column("kind")
                table.add_column("target / field", overflow="fold", ratio=3)
                table.add_column("outcome", no_wrap=True)
                table.add_column("problem", overflow="fold", ratio=1)
                table.add_column("detail", overflow="fold", ratio=3)
            assert table is not None
            style = "red" if f.outcome and f.outcome not in ("ok", "moved") else "yellow"
            table.add_row(f.kind, f.url, Text(f.outcome, style=style), f.codes, f.detail)
        if table is not None:
            c.print(table)
        if self.signatures:
            sig = ", ".join(f"{k} {v}" for k, v in sorted(self.signatures.items()))
            c.print(f"signatures: {sig}")
        style = "bold green" if tally.problems == 0 else "bold red"
        c.print(Text(_summary_line(tally, elapsed_s), style=style))


class MarkdownWriter(TableWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__(Console(file=out))
        self.out = out

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        w = self.out.write
        w("# article-monitor report\n\n")
        w(f"**{_summary_line(tally, elapsed_s)}**\n\n")
        if self.invalid:
            w("## Invalid documents\n\n| source | line | error |\n|---|---:|---|\n")
            for d in self.invalid:
                w(f"| {cell(d.source)} | {d.line or ''} | {cell(d.error)} |\n")
            w("\n")
        if self.rows:
            w("## Findings\n\n| article | kind | target / field | outcome | problem | detail |\n")
            w("|---|---|---|---|---|---|\n")
            for f in self.rows:
                w(
                    f"| {cell(f.source)} | {f.kind} | {cell(f.url)} | {f.outcome} | "
                    f"{cell(f.codes)} | {cell(f.detail)} |\n"
                )
            w("\n")
        if self.signatures:
            sig = ", ".join(f"{k} {v}" for k, v in sorted(self.signatures.items()))
            w(f"Signatures: {sig}\n")
        self.out.flush()


class JunitWriter:
    """JUnit XML for CI systems: one testsuite per article, one testcase per target,
    plus testcases for the article's static checks and signature."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.suites: list[str] = []
        self.invalid: list[InvalidDocument] = []

    def begin(self, invalid: list[InvalidDocument]) -> None:
        self.invalid = invalid

    @staticmethod
    def _case(classname: str, name: str, failure: str | None, kind: str = "") -> str:
        head = f"<testcase classname={quoteattr(classname)} name={quoteattr(name)}"
        if failure is None:
            return head + "/>"
        return (
            f"{head}><failure message={quoteattr(failure[:500])} type={quoteattr(kind)}>"
            f"{escape(failure)}</failure></testcase>"
        )

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        cases = []
        static = "; ".join(f"{p.code}: {p.message}" for p in entry.problems)
        cases.append(self._case(entry.web_url, "static checks", static or None, "problems"))
        sig = entry.signature
        if sig is not None:
            bad = sig.status.is_problem
            text = f"{sig.status.value}: {sig.detail}" if bad else None
            cases.append(self._case(entry.web_url, "signature", text, sig.status.value))
        for row in rows:
            r = row.result
            failure = None
            outcome = r.outcome if r else None
            if not row.healthy:
                bits = [f"outcome {outcome.value}" if outcome else "no outcome"]
                if r is not None and r.http_status:
                    bits.append(f"HTTP {r.http_status}")
                if r is not None and r.error:
                    bits.append(r.error)
                bits.extend(f"{p.code}: {p.message}" for p in row.problems)
                failure = "; ".join(bits)
            cases.append(
                self._case(
                    f"{entry.web_url}.{row.ref.kind.value}",
                    row.url,
                    failure,
                    outcome.value if outcome else "problem",
                )
            )
        failures = sum(1 for c in cases if "<failure" in c)
        self.suites.append(
            f"<testsuite name={quoteattr(f'{entry.source}:{entry.line}')} "
            f'tests="{len(cases)}" failures="{failures}" errors="0">'
            + "".join(cases)
            + "</testsuite>"
        )

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        if self.invalid:
            cases = "".join(
                self._case(d.source, f"line {d.line or '?'}", d.error, "invalid_document")
                for d in self.invalid
            )
            n = len(self.invalid)
            self.suites.insert(
                0,
                f'<testsuite name="invalid documents" tests="{n}" failures="{n}" errors="0">'
                f"{cases}</testsuite>",
            )
        tests = sum(s.count("<testcase") for s in self.suites)
        failures = sum(s.count("<failure") for s in self.suites)
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(
            f'<testsuites name="article-monitor" tests="{tests}" failures="{failures}" '
            f'errors="0" time="{elapsed_s:.3f}">\n'
        )
        for s in self.suites:
            self.out.write(s + "\n")
        self.out.write("</testsuites>\n")
        self.out.flush()
