"""One-shot check: corpus → static checks → signatures → network → report.

Articles are written in input order as soon as they are complete, and a
result is kept only until every article that references it has been
written. Nothing can be written before the whole corpus is read (duplicates
are corpus-wide), so results that arrive while it loads are held until then,
and the articles wait in bounded memory (check/entry_store.py: on disk past
the first few thousand); after that, memory follows the run's concurrency
window, not the corpus.
The writing in order is check/assembler.py's, the choice of one process or
several check/fetcher.py's.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor import urls
from monitor.check.assembler import Assembler
from monitor.check.entry_store import EntryStore
from monitor.check.fetcher import Fetcher
from monitor.check.gc_pace import run_pace
from monitor.check.invalid_spill import InvalidSpill
from monitor.check.prestart import discard
from monitor.check.processes import WorkerFailed
from monitor.check.report import ArticleEntry, ReportWriter, Tally, target_rows
from monitor.config import Settings
from monitor.corpus import iter_documents
from monitor.corpus.article import InvalidDocument
from monitor.rules.audit import AuditRules, audit_document
from monitor.rules.static import DocIdentity
from monitor.secured.keys import KeyRing
from monitor.vocabulary import CheckResult, Kind, invalid_url_result

if TYPE_CHECKING:
    import ssl

ProgressFn = Callable[[int, int], None]


# the one rule for "can this URL be requested" (monitor/urls.py)
requestable = urls.requestable


def static_result(url: str, kind: Kind, now: datetime) -> CheckResult | None:
    """The outcome that needs no network: a URL that cannot be requested."""
    return None if requestable(url) else invalid_url_result(url, kind, now)


@dataclass(slots=True)
class Corpus:
    """The corpus read: its articles (whole when read back: duplicates are added
    then) and its invalid documents, both in bounded memory."""

    entries: EntryStore = field(default_factory=EntryStore)
    invalid: InvalidSpill = field(default_factory=InvalidSpill)

    def close(self) -> None:
        """Drop the temporary files (what is on disk is gone with them)."""
        self.entries.close()
        self.invalid.close()


def _read_entries(
    settings: Settings,
    keyring: KeyRing,
    *,
    now: datetime,
    invalid: InvalidSpill,
    ticks: bool = False,
    tally: Tally | None = None,
) -> Iterator[tuple[ArticleEntry, DocIdentity] | None]:
    """Read every document, run the static checks and verify signatures.

    Each entry is yielded as soon as it is read (a run that fetches starts
    checking its targets then), with its document's identity: its duplicate
    findings are added when it is read back from the EntryStore it goes to,
    once every document is known (duplicates are corpus-wide). Invalid documents
    go to `invalid` (in bounded memory: a corpus may hold millions of them).
    `ticks`: None is yielded after every YIELD_EVERY invalid documents in a
    row, so the reader's caller can give its loop a turn: a corpus of nothing
    but garbage yielded nothing, and a Ctrl-C was seen only once all of it was
    read (1M lines: ~6 s). `tally` counts the targets `exclude_urls` left out
    (of the documents read: a run cut short while reading counts those it read).
    """
    rules = AuditRules.of(settings)
    bad_run = 0
    for item in iter_documents(settings.paths):
        if isinstance(item, InvalidDocument):
            invalid.append(item)
            bad_run += 1
            if ticks and bad_run % YIELD_EVERY == 0:
                yield None
            continue
        bad_run = 0
        identity = DocIdentity.of(item)  # not the document: it is dropped as we go
        audit = audit_document(item, keyring, now=now, rules=rules)
        if audit.excluded and tally is not None:
            tally.excluded += audit.excluded
        entry = ArticleEntry(
            id=item.id,
            source=item.source,
            line=item.line,
            web_url=item.article.webUrl,
            signature=audit.signature,
            problems=audit.problems,
            refs=audit.refs,
        )
        yield entry, identity


def load_corpus(settings: Settings, keyring: KeyRing, *, now: datetime) -> Corpus:
    """The whole corpus at once (the offline run, benchmarks)."""
    corpus = Corpus()
    for read in _read_entries(settings, keyring, now=now, invalid=corpus.invalid):
        if read is not None:
            corpus.entries.add(*read)
    return corpus


async def _load_offline(
    settings: Settings, keyring: KeyRing, now: datetime, tally: Tally
) -> Corpus:
    """The corpus, yielding to the loop now and then so a Ctrl-C lands while it
    loads; cut short, the articles read so far are reported (marked incomplete)."""
    corpus = Corpus()
    try:
        reading = _read_entries(
            settings, keyring, now=now, invalid=corpus.invalid, ticks=True, tally=tally
        )
        for read in reading:
            if read is None:  # a run of invalid documents
                await asyncio.sleep(0)
                continue
            corpus.entries.add(*read)
            if len(corpus.entries) % YIELD_EVERY == 0:
                await asyncio.sleep(0)
    except asyncio.CancelledError:
        tally.incomplete = True
    return corpus


async def _write_offline(corpus: Corpus, writer: ReportWriter, tally: Tally, now: datetime) -> None:
    """Offline every result is a pure function of its URL: each article is
    written as it comes (read back from the store, whole), with no index, no
    shared results and no waiting. A Ctrl-C while writing stops here (the
    report says it is incomplete)."""
    try:
        for n, entry in enumerate(corpus.entries.drain(), 1):
            results = {url: static_result(url, ref.kind, now) for url, ref in entry.refs}
            rows = target_rows(entry, results)
            tally.add_article(entry, rows)
            writer.article(entry, rows)
            if n % YIELD_EVERY == 0 and not tally.incomplete:
                await asyncio.sleep(0)
    except asyncio.CancelledError:
        tally.incomplete = True


YIELD_EVERY = 32  # documents read between turns of the event loop (pipes, results)


class _Run:
    """One networked run: reading, dispatching, collecting, in that overlap."""

    def __init__(
        self,
        settings: Settings,
        writer: ReportWriter,
        tally: Tally,
        progress: ProgressFn | None,
        prestarted: Sequence[subprocess.Popen[bytes]] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.fetcher = Fetcher(settings, prestarted, tls)  # entered when the run begins
        self.writer = writer
        self.tally = tally
        self.progress = progress
        self.asm = Assembler(writer, tally, settings.page_rules())
        self.invalid = InvalidSpill()
        self.begun = False
        self.done = 0
        self.total = 0
        self.read = 0

    def _tick(self) -> None:
        if self.progress:
            self.progress(self.done, self.total)

    async def _consume(self, fetcher: Fetcher) -> None:
        async for batch in fetcher.results():
            for url, result in batch:
                self.asm.add(url, result)
            self.done += len(batch)
            self._tick()

    async def run(self, keyring: KeyRing, now: datetime) -> None:
        asm = self.asm
        async with self.fetcher as fetcher:
            consumer: asyncio.Task[None] | None = None

            async def step(entry: ArticleEntry, identity: DocIdentity) -> None:
                nonlocal consumer
                for url, kind in asm.learn(entry, identity):
                    self.total += 1
                    result = static_result(url, kind, now)
                    if result is None:
                        await fetcher.add(kind, url)
                    else:
                        asm.add(url, result)
                        self.done += 1
                if fetcher.pool is not None and consumer is None:  # workers check as we read
                    consumer = asyncio.create_task(self._consume(fetcher))
                self.read += 1
                if self.read % YIELD_EVERY == 0:
                    self._tick()
                    await asyncio.sleep(0)

            try:
                reading = _read_entries(
                    self.settings,
                    keyring,
                    now=now,
                    invalid=self.invalid,
                    ticks=True,
                    tally=self.tally,
                )
                for read in reading:
                    if read is None:  # a run of invalid documents: the loop's turn
                        await asyncio.sleep(0)
                        continue
                    await step(*read)
                _freeze_loaded()
                self._begin()
                asm.complete = True
                asm.flush()
                await fetcher.decide()
                assert fetcher.pool is not None
                fetcher.pool.close_input()
                if consumer is None:
                    self._tick()
                    consumer = asyncio.create_task(self._consume(fetcher))
                await consumer
            finally:
                if consumer is not None:
                    consumer.cancel()
                    if consumer.done() and not consumer.cancelled():
                        consumer.exception()  # seen (a failure during reading is moot now)

    def _begin(self) -> None:
        if not self.begun:
            self.begun = True
            self.tally.add_invalid(len(self.invalid))
            self.writer.begin(self.invalid)


def _freeze_loaded() -> None:
    """Move the loaded corpus out of the collector's sight until the run ends.

    The held articles form no cycles, yet every full collection during the
    network phase would walk all of them again (a quarter of the load's CPU).
    `run_check` unfreezes, so an in-process caller does not keep them forever.
    """
    gc.freeze()


async def run_check(
    settings: Settings,
    keyring: KeyRing,
    writer: ReportWriter,
    *,
    progress: ProgressFn | None = None,
    prestarted: Sequence[subprocess.Popen[bytes]] = (),
    tls: ssl.SSLContext | None = None,
) -> Tally:
    """The whole `check` run. A cancellation (Ctrl-C) still produces a valid,
    partial report marked incomplete. `prestarted`: worker processes spawned
    before the run (monitor.check.prestart); the run owns them from here.
    `tls`: the verifying context, built already (--ca-bundle), for this process's checks."""
    try:
        with run_pace():
            return await _run_check(settings, keyring, writer, progress, prestarted, tls)
    finally:
        gc.unfreeze()


async def _run_check(
    settings: Settings,
    keyring: KeyRing,
    writer: ReportWriter,
    progress: ProgressFn | None,
    prestarted: Sequence[subprocess.Popen[bytes]] = (),
    tls: ssl.SSLContext | None = None,
) -> Tally:
    started = time.monotonic()
    now = datetime.now(UTC)
    tally = Tally()
    if settings.offline:
        discard(prestarted)
        corpus = await _load_offline(settings, keyring, now, tally)
        _freeze_loaded()
        try:
            tally.add_invalid(len(corpus.invalid))
            writer.begin(corpus.invalid)
            await _write_offline(corpus, writer, tally, now)
            writer.finish(tally, time.monotonic() - started)
        finally:
            corpus.close()
        return tally
    run = _Run(settings, writer, tally, progress, prestarted, tls)
    try:
        await run.run(keyring, now)
    except asyncio.CancelledError:
        tally.incomplete = True
    except WorkerFailed as exc:
        tally.incomplete = True
        tally.failure = str(exc)
    except Exception:  # the error goes on up (exit 2 or 70); the report must not read as whole
        tally.incomplete = True
        tally.failure = "the run failed (the error is on stderr)"
        raise
    finally:
        try:
            run._begin()
            run.asm.flush(force=True)
            writer.finish(tally, time.monotonic() - started)
        finally:
            run.invalid.close()
            run.asm.close()
    return tally
