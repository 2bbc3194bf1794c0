"""One-shot check: corpus → static checks → signatures → network → report.

Results are kept only until every article that references them has been
written, and articles are written in input order as soon as they are
complete, so memory stays bounded by the run's concurrency window rather
than by the corpus size.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.article import InvalidDocument
from monitor.config import Settings
from monitor.corpus import iter_documents
from monitor.integrity import DocIdentity, DuplicateDetector, document_problems
from monitor.keys import KeyRing
from monitor.model import CheckResult, Kind, Problem, ProblemCode, invalid_url_result
from monitor.parallel import WorkerFailed
from monitor.report import ArticleEntry, ReportWriter, Tally, target_rows
from monitor.signature import verify_document
from monitor.targets import Target, TargetIndex, document_refs

ProgressFn = Callable[[int, int], None]


# the ordinary shape: http(s), a plain host, no port or userinfo; anything
# else goes through urlsplit (a full parse per URL was 13% of an offline run)
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#]|\Z)")


def requestable(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host (and a valid port, if any)."""
    if _PLAIN_HTTP_URL.match(url):
        return True
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def static_result(url: str, kind: Kind, now: datetime) -> CheckResult | None:
    """The outcome that needs no network: a URL that cannot be requested."""
    return None if requestable(url) else invalid_url_result(url, kind, now)


def signature_problem(entry: ArticleEntry) -> Problem | None:
    sig = entry.signature
    if sig is None or not sig.status.is_problem:
        return None
    where = f" ({', '.join(sig.fields)})" if sig.fields else ""
    return Problem(
        ProblemCode.SIGNATURE_INVALID,
        f"secured is {sig.status.value}{where}: {sig.detail}".rstrip(": "),
        "secured",
    )


@dataclass(slots=True)
class Corpus:
    entries: list[ArticleEntry] = field(default_factory=list)
    invalid: list[InvalidDocument] = field(default_factory=list)
    index: TargetIndex = field(default_factory=TargetIndex)


def load_corpus(
    settings: Settings, keyring: KeyRing, *, now: datetime, index: bool = True
) -> Corpus:
    """Read every document, run the static checks and verify signatures.

    `index=False` skips the corpus-wide target index, which only a run that
    fetches needs (to fetch each distinct URL once).
    """
    corpus = Corpus()
    dups = DuplicateDetector()
    identities: list[DocIdentity] = []  # not the documents: they are dropped as we go
    kinds = set(settings.kinds)
    for item in iter_documents(settings.paths):
        if isinstance(item, InvalidDocument):
            corpus.invalid.append(item)
            continue
        identity = DocIdentity.of(item)
        dups.add(identity)
        identities.append(identity)
        refs = document_refs(item, related=settings.related, kinds=kinds)
        if index:
            for url, ref in refs:
                corpus.index.add(url, ref)
        entry = ArticleEntry(
            id=item.id,
            source=item.source,
            line=item.line,
            web_url=item.article.webUrl,
            signature=verify_document(item.raw, keyring, exclude=settings.exclude_fields),
            problems=document_problems(item, now=now),
            refs=refs,
        )
        sig = signature_problem(entry)
        if sig is not None:
            entry.problems.append(sig)
        corpus.entries.append(entry)
    for identity, entry in zip(identities, corpus.entries, strict=True):
        entry.problems.extend(dups.problems_for(identity))
    return corpus


class _Assembler:
    """Writes articles in input order as their targets complete; frees results."""

    def __init__(self, corpus: Corpus, writer: ReportWriter, tally: Tally) -> None:
        self.entries = corpus.entries
        self.writer = writer
        self.tally = tally
        self.results: dict[str, CheckResult | None] = {}
        self.pending = [len({url for url, _ in e.refs}) for e in self.entries]
        self.readers: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for url in {url for url, _ in entry.refs}:
                self.readers.setdefault(url, []).append(i)
        self.refcount = {url: len(ix) for url, ix in self.readers.items()}
        self.next = 0

    def add(self, url: str, result: CheckResult | None) -> None:
        self.results[url] = result
        for i in self.readers.get(url, ()):
            self.pending[i] -= 1
        self.flush()

    def flush(self, *, force: bool = False) -> None:
        while self.next < len(self.entries) and (force or self.pending[self.next] <= 0):
            entry = self.entries[self.next]
            rows = target_rows(entry, self.results)
            self.tally.add_article(entry, rows)
            self.writer.article(entry, rows)
            for url in {url for url, _ in entry.refs}:
                self.refcount[url] -= 1
                if self.refcount[url] == 0:
                    self.results.pop(url, None)
            self.next += 1


async def _results(
    settings: Settings, fetch: list[Target]
) -> AsyncGenerator[tuple[Target, CheckResult], None]:
    """Results from this process, or from worker processes for a big run."""
    from monitor.parallel import auto_workers, check_parallel

    workers = auto_workers(settings.workers, len(fetch))
    if workers > 1:
        results = check_parallel(fetch, settings, workers)
        try:
            async for item in results:
                yield item
        finally:
            await results.aclose()
        return

    from monitor.http import Checker
    from monitor.runner import check_targets

    async with Checker(settings) as checker:
        inner = check_targets(fetch, checker, concurrency=settings.concurrency)
        try:
            async for item in inner:
                yield item
        finally:
            await inner.aclose()


async def _network(
    settings: Settings, targets: list[Target], asm: _Assembler, progress: ProgressFn | None
) -> None:
    done = 0
    now = datetime.now(UTC)
    fetch: list[Target] = []
    for target in targets:
        result = static_result(target.url, target.kind, now)
        if result is None:
            fetch.append(target)
            continue
        asm.add(target.url, result)
        done += 1
    if progress:
        progress(done, len(targets))
    results = _results(settings, fetch)
    try:
        async for target, result in results:
            asm.add(target.url, result)
            done += 1
            if progress:
                progress(done, len(targets))
    finally:
        await results.aclose()


def _write_offline(corpus: Corpus, writer: ReportWriter, tally: Tally, now: datetime) -> None:
    """Offline every result is a pure function of its URL: each article is
    written as it comes, with no index, no shared results and no waiting."""
    for entry in corpus.entries:
        results = {url: static_result(url, ref.kind, now) for url, ref in entry.refs}
        rows = target_rows(entry, results)
        tally.add_article(entry, rows)
        writer.article(entry, rows)


async def run_check(
    settings: Settings,
    keyring: KeyRing,
    writer: ReportWriter,
    *,
    progress: ProgressFn | None = None,
) -> Tally:
    """The whole `check` run. A cancellation (Ctrl-C) still produces a valid,
    partial report marked incomplete."""
    started = time.monotonic()
    now = datetime.now(UTC)
    corpus = load_corpus(settings, keyring, now=now, index=not settings.offline)
    tally = Tally()
    tally.add_invalid(len(corpus.invalid))
    writer.begin(corpus.invalid)
    if settings.offline:
        _write_offline(corpus, writer, tally, now)
        writer.finish(tally, time.monotonic() - started)
        return tally
    asm = _Assembler(corpus, writer, tally)
    try:
        await _network(settings, list(corpus.index), asm, progress)
    except asyncio.CancelledError:
        tally.incomplete = True
    except WorkerFailed as exc:
        tally.incomplete = True
        tally.failure = str(exc)
    finally:
        asm.flush(force=True)
        writer.finish(tally, time.monotonic() - started)
    return tally
