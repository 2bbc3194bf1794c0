"""The report's articles written in input order, each once its targets are in.

A result is kept only until every article that references it has been
written, so after the corpus is read memory follows the run's concurrency
window, not the corpus (`check`'s run, monitor/check/oneshot.py). The
articles themselves wait in check/entry_store.py's store (on disk past the
first few thousand) and are read back one at a time as they are written.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.check.entry_store import EntryStore
from monitor.check.report import ArticleEntry, ReportWriter, Tally, target_rows
from monitor.content.drift import DEFAULT_RULES, PageRules
from monitor.rules.static import DocIdentity
from monitor.vocabulary import CheckResult, Kind


class Assembler:
    """Writes articles in input order as their targets complete; frees results.

    Articles are learnt as the corpus is read and results may arrive before
    their articles are complete; nothing is written until `complete` is
    set (duplicates are known only once every document is read). A result
    is dropped once the last article that references it is written.
    """

    def __init__(
        self,
        writer: ReportWriter,
        tally: Tally,
        rules: PageRules = DEFAULT_RULES,
        entries: EntryStore | None = None,
    ) -> None:
        self.rules = rules
        self.entries = EntryStore() if entries is None else entries
        self.writer = writer
        self.tally = tally
        self.results: dict[str, CheckResult | None] = {}
        self.last: dict[str, int] = {}  # url -> the last article that references it
        self.next = 0  # the articles written (the store counts those learnt)
        self.complete = False
        self._reading: Iterator[ArticleEntry] | None = None  # the store, read back once
        self._current: ArticleEntry | None = None  # read back, not written yet
        # a URL of the next article to write that has no result yet: a result
        # for any other URL cannot let it be written (None: look again)
        self._waiting: str | None = None

    def learn(
        self, entry: ArticleEntry, identity: DocIdentity | None = None
    ) -> list[tuple[str, Kind]]:
        """Take one more article; returns its URLs not seen before (with the
        kind of their first reference: it decides how they are fetched).
        `identity`: its document's, for the duplicates among the articles."""
        assert self._reading is None, "an article learnt after writing began"
        n = len(self.entries)  # its index: the store holds every article learnt, none written yet
        new = []
        last = self.last
        for url, ref in entry.refs:
            if url not in last:
                new.append((url, ref.kind))
            last[url] = n
        self.entries.add(entry, identity)
        return new

    def add(self, url: str, result: CheckResult | None) -> None:
        self.results[url] = result
        if self.complete and (self._waiting is None or url == self._waiting):
            self.flush()

    def _peek(self) -> ArticleEntry | None:
        """The next article to write, read back from the store (None: all written)."""
        if self._current is None:
            if self._reading is None:
                self._reading = self.entries.drain()
            self._current = next(self._reading, None)
        return self._current

    def flush(self, *, force: bool = False) -> None:
        if not (self.complete or force):
            return
        results, last = self.results, self.last
        self._waiting = None
        while (entry := self._peek()) is not None:
            if not force:
                for url, _ in entry.refs:
                    if url not in results:
                        self._waiting = url
                        return
            rows = target_rows(entry, results, self.rules)
            self.tally.add_article(entry, rows)
            self.writer.article(entry, rows)
            for url, _ in entry.refs:
                if last.get(url) == self.next:
                    del last[url]
                    results.pop(url, None)
            self._current = None  # written: nothing of it is needed again
            self.next += 1

    def close(self) -> None:
        """Drop the store's temporary file."""
        self.entries.close()
