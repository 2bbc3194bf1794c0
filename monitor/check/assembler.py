"""The report's articles written in input order, each once its targets are in.

A result is kept only until every article that references it has been
written, so after the corpus is read memory follows the run's concurrency
window, not the corpus (`check`'s run, monitor/check/oneshot.py).
"""

from __future__ import annotations

from monitor.check.report import ArticleEntry, ReportWriter, Tally, target_rows
from monitor.content.drift import DEFAULT_RULES, PageRules
from monitor.vocabulary import CheckResult, Kind


class Assembler:
    """Writes articles in input order as their targets complete; frees results.

    Articles are learnt as the corpus is read and results may arrive before
    their articles are complete; nothing is written until `complete` is
    set (duplicates are known only once every document is read). A result
    is dropped once the last article that references it is written.
    """

    def __init__(
        self, writer: ReportWriter, tally: Tally, rules: PageRules = DEFAULT_RULES
    ) -> None:
        self.rules = rules
        self.entries: list[ArticleEntry | None] = []
        self.writer = writer
        self.tally = tally
        self.results: dict[str, CheckResult | None] = {}
        self.last: dict[str, int] = {}  # url -> the last article that references it
        self.next = 0
        self.complete = False

    def learn(self, entry: ArticleEntry) -> list[tuple[str, Kind]]:
        """Take one more article; returns its URLs not seen before (with the
        kind of their first reference: it decides how they are fetched)."""
        n = len(self.entries)
        self.entries.append(entry)
        new = []
        last = self.last
        for url, ref in entry.refs:
            if url not in last:
                new.append((url, ref.kind))
            last[url] = n
        return new

    def add(self, url: str, result: CheckResult | None) -> None:
        self.results[url] = result
        if self.complete:
            self.flush()

    def flush(self, *, force: bool = False) -> None:
        if not (self.complete or force):
            return
        entries, results, last = self.entries, self.results, self.last
        while self.next < len(entries):
            entry = entries[self.next]
            assert entry is not None
            if not force and not all(url in results for url, _ in entry.refs):
                break
            rows = target_rows(entry, results, self.rules)
            self.tally.add_article(entry, rows)
            self.writer.article(entry, rows)
            for url, _ in entry.refs:
                if last.get(url) == self.next:
                    del last[url]
                    results.pop(url, None)
            entries[self.next] = None  # written: nothing of it is needed again
            self.next += 1
