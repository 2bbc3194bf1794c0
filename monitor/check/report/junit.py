"""The JUnit XML report, for CI systems."""

from __future__ import annotations

import shutil
import tempfile
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from monitor.check.invalid_spill import InvalidList, batches, stderr_warning
from monitor.check.report.rows import ArticleEntry, Tally, TargetRow
from monitor.observe.logs import escape as spell_out

INVALID_KIND = "invalid_document"  # the failure type of an invalid document's case


def _attr(value: str) -> str:
    """An XML attribute: controls, NUL and lone surrogates (which XML 1.0 cannot
    hold at all, escaped or not) spelled out first, so the report stays well-formed."""
    return quoteattr(spell_out(value))


def _text(value: str) -> str:
    return escape(spell_out(value))


class _Suites:
    """The articles' suites, in order, until the head (which counts them all) is
    written: in an anonymous temporary file, as the invalid documents are. Held in
    memory they were the report's peak (200,000 articles: 702 MB against 476 MB for
    `--format json`). A file that cannot be made or written keeps them in memory."""

    def __init__(self) -> None:
        self.tests = self.failures = 0
        self._file: IO[str] | None = None
        self._held: list[str] = []
        self._in_memory = False

    def add(self, text: str, tests: int, failures: int) -> None:
        self.tests += tests
        self.failures += failures
        if not self._in_memory:
            try:
                if self._file is None:
                    self._file = tempfile.TemporaryFile(
                        "w+", encoding="utf-8", errors="surrogatepass", prefix="article-monitor-"
                    )
                self._file.write(text + "\n")
                return
            except OSError as exc:
                self._give_up(exc)
        self._held.append(text + "\n")

    def _give_up(self, exc: OSError) -> None:
        self._in_memory = True
        where = tempfile.tempdir or "the temporary folder"
        stderr_warning(
            f"Warning: cannot write the JUnit report's suites to a temporary file in "
            f"{where} ({exc.strerror or exc}): keeping them in memory; free space there "
            "or set TMPDIR to a writable folder with room"
        )

    def write_to(self, out: IO[str]) -> None:
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            shutil.copyfileobj(self._file, out, COPY_CHARS)
        for text in self._held:
            out.write(text)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


COPY_CHARS = 1 << 20


class JunitWriter:
    """JUnit XML for CI systems: one testsuite per article, one testcase per target,
    plus testcases for the article's static checks and signature."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.suites = _Suites()
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
        self.suites.add(
            f"<testsuite name={_attr(f'{entry.source}:{entry.line}')} "
            f'tests="{len(cases)}" failures="{failures}" errors="0">'
            + "".join(cases)
            + "</testsuite>",
            len(cases),
            failures,
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
        try:
            self._finish(tally, elapsed_s)
        finally:
            self.suites.close()

    def _finish(self, tally: Tally, elapsed_s: float) -> None:
        n = len(self.invalid)  # one failing case each, written as they are read back
        run_suite = ""
        if tally.incomplete:  # CI must not read a cut-short run as a passing one
            why = tally.failure or "the run was cut short (Ctrl-C or SIGTERM)"
            case = self._case(
                "article-monitor",
                "run complete",
                f"incomplete: {why}; unfinished targets are left out",
                "incomplete",
            )
            run_suite = (
                f'<testsuite name="run" tests="1" failures="1" errors="0">{case}</testsuite>'
            )
        ran = 1 if run_suite else 0
        tests = n + ran + self.suites.tests
        failures = n + ran + self.suites.failures
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(
            f'<testsuites name="article-monitor" tests="{tests}" failures="{failures}" '
            f'errors="0" time="{elapsed_s:.3f}">\n'
        )
        if run_suite:  # the run's suite comes before the others
            self.out.write(run_suite + "\n")
        if n:
            self._invalid_suite(n)
        self.suites.write_to(self.out)
        self.out.write("</testsuites>\n")
        self.out.flush()
