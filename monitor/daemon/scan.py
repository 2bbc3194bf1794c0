"""Keep the database in step with the corpus files: new, changed, deleted.

A file is re-read only when its mtime or size moved, and re-parsed only when
its SHA-256 changed too; a changed record gets its `secured` field verified
again. A configured path that has vanished (an unmounted volume) is
reported, and its documents are kept: deleting a corpus because a mount
blinked would throw away the schedule of every target in it. The same holds
for a folder that cannot be listed (permissions, too many open files, I/O)
and a file that cannot be read: reported (log, /readyz, the invalid-documents
gauge), its last known documents kept, retried at every rescan. Only a file
that is not there any more is retired. Files are read by the reader `check`
uses (`monitor.corpus.parse_stream`) and audited by the same audit
(`monitor.rules.audit`, in daemon/records.py, which makes the rows), so both
give one result for one file.

After each pass, `duplicate_url` is worked out across documents from the
store (daemon/duplicate_marks.py); a document whose shared article lost its
row (the other copy was deleted) is stored again here, so the article stays
watched.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import DBAPIError

from monitor.config import Settings
from monitor.corpus import Unreadable, iter_files, open_regular, parse_stream, vanished
from monitor.corpus.files import read_failure, source_name
from monitor.daemon.clock_step import PassStamp
from monitor.daemon.duplicate_marks import DuplicateMarks, fetch
from monitor.daemon.records import Tally, iter_records, records_of
from monitor.observe.logs import EVERY
from monitor.rules.audit import AuditRules
from monitor.secured.keys import KeyRing
from monitor.storage.corpus import (
    MAX_URL_BYTES,
    refusal,
    refused_record,
    too_long_to_index,
)
from monitor.storage.repository import Fingerprint, Repository, now_ms
from monitor.storage.values import ArticleRecord

log = logging.getLogger(__name__)

# meta: the digest of the keys and rules the recorded corpus was audited with
# (AuditRules.records_key: the targets' rules, exclude_fields, the keys' identities)
RULES_KEY = "corpus_rules"

# A file is read again for the clock (`recheck_at`) at most once every this many
# rescans: a feed of articles dated a second apart had its whole file read, audited
# and stored again at every pass for as long as its dates spanned (months of
# scheduled articles: every pass for months). A finding clears at most this many
# passes late (5 minutes at the default 60 s, the allowed skew itself).
CLOCK_RECHECK_PASSES = 5

# documents.recheck_at set by migration 0011 on the files stored with the finding
RECHECK_AFTER_UPGRADE = 0

UNREAD = -1  # the mtime_ns stored for a file that could not be read: never equal to a real one

# The files of one pass named at info per kind of line (new, updated, audited again,
# gone, stored again); the rest at debug, counted and summed up in one line at the
# pass's end. A first scan of 100,000 files, a release unpacked over the corpus, or
# every file falling due at once (migration 0011, a clock jump) wrote a line each.
FILES_LOGGED = 20


# kind → the summary of the lines held back: (how many more, how many in all)
_HELD_BACK = {
    "new": "%d more new documents not logged (%d in all this pass)",
    "updated": "%d more updated documents not logged (%d in all this pass)",
    "due": "%d more documents audited again, unchanged, for the clock, not logged "
    "(%d in all this pass)",
    "gone": "%d more documents gone, their targets retired, not logged (%d in all this pass)",
    "adopted": "%d more documents stored again for a removed copy of their article, "
    "not logged (%d in all this pass)",
}


class FileLines:
    """One pass's per-file lines: the first FILES_LOGGED of each kind at info, the
    rest at debug; `sum_up` says how many were not (as records.Tally does for a
    file's invalid records)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = dict.fromkeys(_HELD_BACK, 0)

    def say(self, kind: str, message: str, *args: object) -> None:
        self.counts[kind] += 1
        level = logging.INFO if self.counts[kind] <= FILES_LOGGED else logging.DEBUG
        log.log(level, message, *args)

    def sum_up(self) -> None:
        """Said once: at the pass's end, or where it ends early (a stop, a failure)."""
        for kind, n in self.counts.items():
            if n > FILES_LOGGED:
                log.info(_HELD_BACK[kind], n - FILES_LOGGED, n)
        self.counts = dict.fromkeys(_HELD_BACK, 0)


@dataclass(slots=True)
class ScanReport:
    files: int = 0
    changed: int = 0  # stored again, those of `reread` included
    reread: int = 0  # read again with the same bytes (a reload, new rules): not edits
    removed: int = 0
    invalid: int = 0
    unreadable: list[str] = field(default_factory=list)
    unreadable_folders: list[str] = field(default_factory=list)  # "path (why)"
    missing_roots: list[str] = field(default_factory=list)
    duplicates: int = 0
    clock_back: bool = False  # the clock stepped back during the pass (PassStamp)

    @property
    def problems(self) -> list[str]:
        out = [f"corpus path missing: {p}" for p in self.missing_roots]
        out += [f"unreadable folder: {p}" for p in self.unreadable_folders[:20]]
        out += [f"unreadable document: {p}" for p in self.unreadable[:20]]
        return out


class ScanStopped(Exception):
    """A stop ended the pass between two articles: what it did not read is kept,
    a file stored in part is read again at the next start (fingerprint last)."""


class CorpusScanner:
    def __init__(self, repo: Repository, settings: Settings, keyring: KeyRing) -> None:
        self.repo = repo
        # set by a stop (SIGTERM): a first pass over a big corpus held the exit
        # until it had read and stored every file
        self.stopping = False
        self.settings = settings
        self.keyring = keyring
        self._failing: dict[str, str] = {}  # unreadable files → why (logged once per cause)
        self._marks = DuplicateMarks(repo)  # duplicate_url after each pass
        self._now = 0  # the time of the pass under way (ms)
        self._elsewhere = 0  # documents outside this daemon's paths (PostgreSQL), last pass
        self._missing: set[Path] = set()  # configured paths found missing: said when back
        self._rules: str | None = None  # the keys' and rules' digest stored (RULES_KEY)
        self._rules_pending: str | None = None  # read with them, some documents kept unread
        self._stale: list[Path] = []  # ... those under these paths (kept by that pass)
        self._digest: tuple[Settings, KeyRing, str] | None = None  # rules_digest's
        self._excluded: int | None = None  # targets `exclude_urls` leaves out, last said
        self._lines = FileLines()  # the pass's per-file lines, capped

    def rules_digest(self) -> str:
        """The digest of the rules this daemon reads the corpus with now (a SIGHUP
        may swap them): published with a cluster member's heartbeat, compared."""
        made = self._digest
        if made is None or made[0] is not self.settings or made[1] is not self.keyring:
            digest = AuditRules.of(self.settings).records_key(self.keyring)
            made = self._digest = (self.settings, self.keyring, digest)
        return made[2]

    def _count_excluded(self, *, forced: bool = False) -> None:
        """Log the targets `exclude_urls` leaves out of the recorded corpus when a pass
        changed their number (one line, not one per target; `status` shows it).
        After a pass that read every file (a SIGHUP, new rules) the line is never
        held back as a repeat: the same count said before the reload within the
        repeat window left the last line an older count for up to a minute."""
        total = self.repo.excluded_targets()
        if total != (self._excluded or 0):
            log.info("%d targets left out by exclude_urls", total, extra=EVERY if forced else None)
        self._excluded = total

    def _rules_key(self) -> str:
        """The meta key of the digest of the rules this daemon's paths were read with.
        On PostgreSQL one per set of paths: a member reads and retires only its own,
        and one that stored the digest after reading its shard left another member,
        restarted with the same new rules, skipping its unchanged files."""
        if self.repo.dialect != "postgresql":
            return RULES_KEY
        paths = "\0".join(sorted(str(Path(p)) for p in self.settings.paths))
        return (
            f"{RULES_KEY}:{hashlib.sha256(paths.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"
        )

    def _roots(self, report: ScanReport) -> list[Path | Unreadable]:
        """The configured paths that are there; a vanished one is reported and kept."""
        out: list[Path | Unreadable] = []
        for root in (Path(p) for p in self.settings.paths):
            try:
                root.stat()
            except (FileNotFoundError, NotADirectoryError):
                self._missing.add(root)
                _missing_root(root, report)
                continue
            except OSError as exc:  # not "missing": it may be full of documents
                self._missing.discard(root)  # said unreadable now, then "can be read again"
                out.append(Unreadable(root, exc))
                continue
            if root in self._missing:  # its error was the last word on it in the log
                self._missing.discard(root)
                log.info("corpus path %s is back", root, extra=EVERY)
            out.append(root)
        self._missing &= {Path(p) for p in self.settings.paths}  # a reload may drop one
        return out

    def scan(
        self,
        *,
        force: bool = False,
        now: int | None = None,
        clock: Callable[[], int] | None = None,
    ) -> ScanReport:
        """`_scan`; a pass cut short (a stop, a full disk, the database gone) still says
        how many files it stored that it did not name: the 20 lines it had said were
        the last word, and the log told of 20 new documents where 10,000 were stored."""
        try:
            return self._scan(force=force, now=now, clock=clock)
        finally:
            self._lines.sum_up()

    def _scan(
        self,
        *,
        force: bool = False,
        now: int | None = None,
        clock: Callable[[], int] | None = None,
    ) -> ScanReport:
        """One pass over the corpus. `force` re-reads every file (SIGHUP: new keys).

        Everything the pass stores is stamped `now` (default: when it starts, by
        `clock`), so the targets it makes due are all due at one time: `run
        --once` checks up to a cutoff taken after that while the pass is still
        writing. A file stored after the clock stepped back gets that clock's
        reading instead (PassStamp; `clock_back` in the report).

        Only a file that is really not there any more is retired: under a
        folder that could not be listed, or for a file that could not be
        read, the last known documents are kept and the error reported.
        """
        report = ScanReport()
        self._lines = FileLines()
        tick = clock or now_ms
        stamp = PassStamp(tick() if now is None else now, tick)
        self._now = stamp.start
        known = self.repo.documents()
        rules = AuditRules.of(self.settings).records_key(self.keyring)
        rules_key = self._rules_key()
        stale: list[Path] = []  # paths a pass with these rules kept unread: read again
        if rules != self._rules and self.repo.get_meta(rules_key) != rules:
            # the files kept their mtime and size, not their verdicts and targets: a
            # start with new keys or exclude_fields kept the old keys' `secured`
            # verdicts, one with new kinds, related or exclude_urls went on checking
            # what they now leave out
            if rules == self._rules_pending:
                stale = self._stale  # the rest was read with them
            else:
                if known and not force:
                    log.info(
                        "the keys, exclude_fields, kinds, related or exclude_urls differ "
                        "from those the corpus was recorded with: every document is read again"
                    )
                force = True
        roots = self._roots(report)
        seen: set[str] = set()
        kept: list[Path] = [Path(r) for r in report.missing_roots]  # nothing under them retired
        found: list[Path | Unreadable] = [r for r in roots if isinstance(r, Unreadable)]
        found_iter = iter_files([r for r in roots if isinstance(r, Path)])
        for item in itertools.chain(found, found_iter):
            if self.stopping:
                raise ScanStopped
            self._now = stamp.now()
            key = source_name(item.path if isinstance(item, Unreadable) else item)
            if too_long_to_index(key):
                self._too_long(key, report)
                seen.add(key)
                continue
            if isinstance(item, Unreadable):
                self._unreadable_folder(item, known.get(key), report)
                seen.add(key)
                kept.append(item.path)
                continue
            report.files += 1
            again = force or (bool(stale) and any(_under(key, root) for root in stale))
            if self._read(item, key, known.get(key), report, force=again):
                seen.add(key)
        # a path there when the pass began may have gone while the ones before it were
        # walked (a volume unmounted): its walk found nothing, which is not "its files
        # are gone", so its documents are kept as those of a path missing at the start
        for root in roots:
            if isinstance(root, Path) and _gone(root):
                self._missing.add(root)
                _missing_root(root, report)
                kept.append(root)
        self._recovered(known, seen)
        # on PostgreSQL other members may scan other paths (their shard, the same share
        # mounted elsewhere): a member retires only what is under its own paths
        mine = [Path(p) for p in self.settings.paths] if self.repo.dialect == "postgresql" else []
        elsewhere = 0
        for key in sorted(set(known) - seen):
            if any(_under(key, root) for root in kept):
                continue
            if mine and not any(_under(key, root) for root in mine):
                elsewhere += 1
                continue
            self.repo.remove_document(key)
            if known[key].mtime_ns != UNREAD:  # not a placeholder for a read error
                report.removed += 1
                self._lines.say("gone", "document %s is gone: its targets are retired", key)
        if elsewhere != self._elsewhere:
            self._elsewhere = elsewhere
            if elsewhere:
                log.info(
                    "%d documents outside this daemon's paths are kept (another cluster "
                    "member's paths, or paths no longer configured: remove them there)",
                    elsewhere,
                )
        self.duplicates(report)
        self._lines.sum_up()
        if report.changed or report.removed or self._excluded is None:
            self._count_excluded(forced=force)
        unread = _holding(kept, known) if rules != self._rules else []
        if unread:
            # documents kept unread (a path missing or unreadable) still have the old
            # rules' targets and verdicts, and files that come back unchanged are not
            # read: the digest stored now left them so for good. Not stored until a
            # pass has read them (the next read the files under these paths again;
            # a restart, every file)
            self._rules_pending, self._stale = rules, unread
        elif rules != self._rules:  # every file read with them (a stop raised above)
            self.repo.set_meta(rules_key, rules)
            self._rules, self._rules_pending, self._stale = rules, None, []
        report.clock_back = stamp.stepped
        return report

    def _read(
        self, path: Path, key: str, prev: Fingerprint | None, report: ScanReport, *, force: bool
    ) -> bool:
        """Read one listed file (stored as `key`) if it changed, or if its stored
        findings changed with the clock (`recheck_at` passed: a date in the future
        is not any more); False when it turned out gone."""
        due = prev is not None and prev.recheck_at is not None and prev.recheck_at <= self._now
        force = force or due  # the file alone: its findings are stale, not its bytes
        try:
            with open_regular(path) as (st, fh):
                if (
                    not force
                    and prev is not None
                    and (prev.mtime_ns, prev.size) == (st.st_mtime_ns, st.st_size)
                ):
                    return True
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
                fp = Fingerprint(st.st_mtime_ns, st.st_size, digest)
                if not force and prev is not None and prev.sha256 == fp.sha256 and prev.size >= 0:
                    self.repo.touch_document(key, fp)
                    self._readable_again(key)
                    return True
                fh.seek(0)
                # read, audited and stored as it goes: the first targets are due
                # (and checked) while the rest of a big file is parsed
                tally = Tally()
                items = parse_stream(key, fh, path.suffix)
                records = self._unless_stopped(
                    iter_records(items, self.settings, self.keyring, tally, self._clock())
                )
                try:
                    stored = self.repo.store_document(
                        key,
                        partial(_as_read, fh, st, fp, tally, self._recheck),
                        records,
                        lambda: tally.invalid,
                        self._now,
                    )
                except DBAPIError as exc:
                    if not refused_record(exc):
                        raise  # the database itself: the pass fails and is reported
                    why = f"the database refused a record ({refusal(exc)})"
                    self._unreadable(key, prev, why, report)  # logged once per cause
                    report.invalid += tally.invalid + 1
                    return True
        except OSError as exc:
            # also midway through a file whose first batches are stored: its
            # fingerprint is not, so it is read again and stored whole
            if vanished(path, exc):
                if prev is None:
                    log.info("%s was deleted while the corpus was read: skipped", key)
                    # its first batches may be stored, and no document row would
                    # ever retire them: their targets were checked for ever
                    self.repo.remove_document(key)
                self._failing.pop(key, None)
                return False  # gone: retired below like any deleted file
            self._unreadable(key, prev, read_failure(path, exc), report)
            return True
        self._readable_again(key)
        invalid = tally.invalid
        report.invalid += invalid
        report.changed += 1
        if due and prev is not None and prev.sha256 == fp.sha256:
            self._lines.say(
                "due",
                "document %s audited again, unchanged: %s (%d articles, %d invalid)",
                key,
                # 0: marked by migration 0011 for holding the finding, its date unknown
                # (year 9999 included): it had said the date was no longer ahead
                "it was stored with a date in the future before the upgrade"
                if prev.recheck_at == RECHECK_AFTER_UPGRADE
                else "a date in it is no longer in the future",
                stored,
                invalid,
            )
            return True
        if prev is not None and prev.sha256 == fp.sha256:
            # a forced pass (SIGHUP, new keys or rules) read the file again: not an
            # edit, so not "updated document" at info, once per file of the corpus
            report.reread += 1
            log.debug(
                "document %s read again, unchanged: %d articles, %d invalid", key, stored, invalid
            )
            return True
        kind = "updated" if prev else "new"
        self._lines.say(
            kind,
            "%s document %s: %d articles, %d invalid",
            kind,
            key,
            stored,
            invalid,
        )
        return True

    def _recheck(self, tally: Tally) -> int | None:
        """When the file read is due again for the clock: its first finding's change
        (`tally.recheck_at`), but no sooner than CLOCK_RECHECK_PASSES rescans ahead."""
        if tally.recheck_at is None:
            return None
        floor = self._now + math.ceil(CLOCK_RECHECK_PASSES * self.settings.rescan_interval * 1000)
        return max(tally.recheck_at, floor)

    def _clock(self) -> datetime:
        """The audit's clock: the pass's stamp, which `recheck_at` is compared with."""
        return datetime.fromtimestamp(self._now / 1000, UTC)

    def _unless_stopped(self, records: Iterator[ArticleRecord]) -> Iterator[ArticleRecord]:
        """`records`, ended by a stop: raised while the store pulls the next one,
        between its transactions."""
        for record in records:
            if self.stopping:
                raise ScanStopped
            yield record

    def _too_long(self, key: str, report: ScanReport) -> None:
        """A path longer than the database can index: that file is skipped and
        counted, the others stored (on PostgreSQL it failed the whole pass)."""
        report.invalid += 1
        why = f"its path is too long to store ({len(key)} characters, over {MAX_URL_BYTES} bytes)"
        if self._failing.get(key) != why:
            log.warning("invalid document %s...: %s", key[:200], why)
        self._failing[key] = why

    def _readable_again(self, key: str) -> None:
        if self._failing.pop(key, None) is not None:
            log.info("%s can be read again", key, extra=EVERY)

    def _recovered(self, known: dict[str, Fingerprint], seen: set[str]) -> None:
        """Forget the failures of paths not met this pass: a folder listed again
        (said so), or a path that is gone (its failure is not remembered)."""
        for key in [k for k in self._failing if k not in seen]:
            prev = known.get(key)
            if prev is not None and prev.mtime_ns == UNREAD and Path(key).is_dir():
                self._readable_again(key)
            else:
                self._failing.pop(key, None)

    def _unreadable_folder(
        self, folder: Unreadable, prev: Fingerprint | None, report: ScanReport
    ) -> None:
        """A folder that could not be listed: reported, counted, its documents kept.

        It is stored as one invalid record under its own path (so the
        `invalid_documents` gauge counts it) until it can be listed again.
        """
        key = source_name(folder.path)
        why = folder.reason
        report.unreadable_folders.append(f"{key} ({why})")
        if self._failing.get(key) != why:
            log.error(
                "cannot read the folder %s: %s; keeping the documents known under it, "
                "will retry at every rescan",
                key,
                why,
            )
        self._failing[key] = why
        if prev is None:
            self.repo.store_document(key, Fingerprint(UNREAD, -1, ""), [], 1, self._now)

    def _unreadable(self, key: str, prev: Fingerprint | None, why: str, report: ScanReport) -> None:
        """Report a file that cannot be read; retried at every pass, logged once per cause.

        A file never read before is stored as one invalid record (so the
        `invalid_documents` gauge counts it) with a fingerprint no file has,
        so the next pass tries it again. One read before keeps its articles,
        as a vanished corpus path does, and counts as one more invalid document
        until it is read again.
        """
        report.unreadable.append(key)
        if self._failing.get(key) != why:
            log.error("cannot read %s: %s; will retry at every rescan", key, why)
        else:
            log.debug("still cannot read %s: %s", key, why)
        self._failing[key] = why
        if prev is None or prev.mtime_ns == UNREAD:
            self.repo.store_document(key, Fingerprint(UNREAD, -1, ""), [], 1, self._now)
        elif prev.size >= 0:
            self.repo.mark_unreadable(key)  # counted, articles kept, read again next pass

    def _adopt(self, path: str, report: ScanReport) -> bool:
        """Store a document again: an article it shares lost its row with the other copy."""
        read = fetch(path)
        if read is None:
            return False
        fp, docs, skipped = read  # its invalid records were logged when the pass read it
        records, tally = records_of(docs, self.settings, self.keyring, self._clock())
        fp = replace(fp, recheck_at=self._recheck(tally), excluded=tally.excluded)
        self.repo.store_document(path, fp, records, tally.invalid + skipped, self._now)
        report.changed += 1
        self._lines.say(
            "adopted", "document %s stored again: another copy of its article was removed", path
        )
        return True

    def duplicates(self, report: ScanReport) -> None:
        """Mark `duplicate_url` on exactly the articles held twice (daemon/duplicate_marks.py)."""
        self._marks.mark(report, self._adopt)


def _as_read(
    fh: BinaryIO,
    st: os.stat_result,
    fp: Fingerprint,
    tally: Tally,
    recheck: Callable[[Tally], int | None],
) -> Fingerprint:
    """`fp` (hashed before the read) with when the file is due again for the clock
    (`recheck`, once read) and what `exclude_urls` left out of it, or with no
    digest if the file changed while read (rewritten in place: what was read of
    it must not pass for `fp`)."""
    now = os.fstat(fh.fileno())
    if (now.st_mtime_ns, now.st_size) == (st.st_mtime_ns, st.st_size):
        return replace(fp, recheck_at=recheck(tally), excluded=tally.excluded)
    return Fingerprint(st.st_mtime_ns, st.st_size, "", recheck(tally), tally.excluded)


def _missing_root(root: Path, report: ScanReport) -> None:
    report.missing_roots.append(str(root))
    log.error("corpus path %s is missing; keeping its documents until it returns", root)


def _gone(root: Path) -> bool:
    """Whether a configured path is not there any more (an error reading it is not that)."""
    try:
        root.stat()
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _holding(paths: list[Path], known: dict[str, Fingerprint]) -> list[Path]:
    """The `paths` some known document is under (kept unread with the rules it was
    read with). A folder never readable (a mount's lost+found) holds none: it
    does not keep the rules' digest from being stored, every start after."""
    held = []
    for path in paths:
        name = source_name(path)
        inside = name if name.endswith("/") else name + "/"
        if any(key == name or key.startswith(inside) for key in known):
            held.append(path)
    return held


def _under(path: str, root: Path) -> bool:
    p = Path(path)
    return p == root or root in p.parents
