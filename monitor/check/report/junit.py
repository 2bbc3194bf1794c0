"""The JUnit XML report, for CI systems."""

from __future__ import annotations

from typing import IO
from xml.sax.saxutils import escape, quoteattr

from monitor.check.invalid_spill import InvalidList, batches
from monitor.check.report.rows import ArticleEntry, Tally, TargetRow
from monitor.observe.logs import escape as spell_out

INVALID_KIND = "invalid_document"  # the failure type of an invalid document's case


def _attr(value: str) -> str:
    """An XML attribute: controls, NUL and lone surrogates (which XML 1.0 cannot
    hold at all, escaped or not) spelled out first, so the report stays well-formed."""
    return quoteattr(spell_out(value))


def _text(value: str) -> str:
    return escape(spell_out(value))


class JunitWriter:
    """JUnit XML for CI systems: one testsuite per article, one testcase per target,
    plus testcases for the article's static checks and signature."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.suites: list[str] = []
        self.invalid: InvalidList = []

    def begin(self, invalid: InvalidList) -> None:
        self.invalid = invalid

    @staticmethod
    def _case(classname: str, name: str, failure: str | None, kind: str = "") -> str:
        head = f"<testcase classname={_attr(classname)} name={_attr(name)}"
        if failure is None:
            return head + "/>"
        return (
            f"{head}><failure message={_attr(failure[:500])} type={_attr(kind)}>"
            f"{_text(failure)}</failure></testcase>"
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
            f"<testsuite name={_attr(f'{entry.source}:{entry.line}')} "
            f'tests="{len(cases)}" failures="{failures}" errors="0">'
            + "".join(cases)
            + "</testsuite>"
        )

    def _invalid_suite(self, n: int) -> None:
        """The invalid documents' suite, written as they are read back (a corpus may
        hold millions: the text of them all was the report's peak)."""
        w = self.out.write
        w(f'<testsuite name="invalid documents" tests="{n}" failures="{n}" errors="0">')
        for batch in batches(self.invalid):
            w(
                "".join(
                    self._case(d.source, f"line {d.line or '?'}", d.error, INVALID_KIND)
                    for d in batch
                )
            )
        w("</testsuite>\n")

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        n = len(self.invalid)  # one failing case each, written as they are read back
        if tally.incomplete:  # CI must not read a cut-short run as a passing one
            why = tally.failure or "the run was cut short (Ctrl-C or SIGTERM)"
            case = self._case(
                "article-monitor",
                "run complete",
                f"incomplete: {why}; unfinished targets are left out",
                "incomplete",
            )
            self.suites.insert(
                0, f'<testsuite name="run" tests="1" failures="1" errors="0">{case}</testsuite>'
            )
        tests = n + sum(s.count("<testcase") for s in self.suites)
        failures = n + sum(s.count("<failure") for s in self.suites)
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(
            f'<testsuites name="article-monitor" tests="{tests}" failures="{failures}" '
            f'errors="0" time="{elapsed_s:.3f}">\n'
        )
        first = 1 if tally.incomplete else 0  # the run's suite comes before them
        for s in self.suites[:first]:
            self.out.write(s + "\n")
        if n:
            self._invalid_suite(n)
        for s in self.suites[first:]:
            self.out.write(s + "\n")
        self.out.write("</testsuites>\n")
        self.out.flush()
