"""A finding that depends on the clock is audited again when its time comes, though
the file did not change: real corpus files, the scanner, SQLite and PostgreSQL.

An article dated ahead of the clock beyond the allowed skew is stored with
`published_in_future`. The rescan skips a file whose mtime and size did not
move, so the finding stayed after the date had passed (status pages, API,
metric, alerts) until the file changed or a SIGHUP. Each pass here is given its
clock (`scan(now=...)`), which the audit uses as well.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.config import Settings
from monitor.daemon.scan import CLOCK_RECHECK_PASSES, CorpusScanner
from monitor.rules.static import DEFAULT_SKEW
from monitor.secured.keys import KeyRing
from monitor.storage.repository import ARTICLES, DOCUMENTS, Repository

T0 = 1_700_000_000_000  # ms (2023): every pass is given its clock, before the real one
HOUR = 3_600_000
SKEW = int(DEFAULT_SKEW.total_seconds() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def doc(n: int, published: int | None = None, related_updated: int | None = None) -> dict:
    art: dict[str, object] = {
        "webUrl": f"https://news{n}.example.com/a",
        "title": "t",
        "provider": {"name": "News", "domain": f"news{n}.example.com"},
    }
    if published is not None:
        art["publishedDateTime"] = iso(published)
    if related_updated is not None:
        related = {"webUrl": f"https://news{n}.example.com/b", "title": "r"}
        art["related"] = [{**related, "updatedDateTime": iso(related_updated)}]
    return art


def write(path: Path, *docs: dict) -> None:
    path.write_text(json.dumps(list(docs)))


def scanner(repo: Repository, corpus: Path) -> CorpusScanner:
    """A new scanner (a daemon's start) over `corpus`: it knows only what the database holds."""
    settings = Settings(paths=[corpus], data_dir=corpus.parent, kinds=["web"])
    return CorpusScanner(repo, settings, KeyRing.empty())


def problems(repo: Repository) -> dict[str, str]:
    with repo.engine.connect() as conn:
        rows = conn.execute(select(ARTICLES.c.source, ARTICLES.c.problems))
        return {Path(r.source).name: r.problems for r in rows}


def documents(repo: Repository) -> dict[str, tuple[int | None, int]]:
    """name -> (recheck_at, scanned_at)"""
    with repo.engine.connect() as conn:
        rows = conn.execute(
            select(DOCUMENTS.c.path, DOCUMENTS.c.recheck_at, DOCUMENTS.c.scanned_at)
        )
        return {Path(r.path).name: (r.recheck_at, r.scanned_at) for r in rows}


def test_a_future_date_is_no_finding_once_it_has_come_without_the_file_changing(
    repo: Repository, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus / "ahead.json", doc(1, published=T0 + HOUR))
    write(corpus / "plain.json", doc(2, published=T0 - HOUR))
    scanner(repo, corpus).scan(now=T0)
    assert problems(repo) == {"ahead.json": "published_in_future", "plain.json": ""}
    due = T0 + HOUR - SKEW  # the date less the allowed skew
    assert documents(repo) == {"ahead.json": (due, T0), "plain.json": (None, T0)}

    # a millisecond before: neither file is read again (mtime and size unchanged)
    scanner(repo, corpus).scan(now=due - 1)
    assert problems(repo)["ahead.json"] == "published_in_future"
    assert documents(repo) == {"ahead.json": (due, T0), "plain.json": (None, T0)}

    # its time: a new scanner (a restart) reads the file again from what the database kept
    report = scanner(repo, corpus).scan(now=due)
    assert report.changed == 1
    assert problems(repo) == {"ahead.json": "", "plain.json": ""}
    assert documents(repo) == {"ahead.json": (None, due), "plain.json": (None, T0)}

    # nothing is due any more: the next pass reads neither
    assert scanner(repo, corpus).scan(now=due + HOUR).changed == 0


def test_the_first_of_several_future_dates_moves_the_recheck_to_the_next(
    repo: Repository, tmp_path: Path
) -> None:
    """The article's own date and a related item's `updatedDateTime`, hours apart,
    in one document of a file with another: each passes in turn, the finding
    stays until the last, and the file is due at the earliest one left."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    both = doc(1, published=T0 + 3 * HOUR, related_updated=T0 + HOUR)
    write(corpus / "two.json", both, doc(3, published=T0 + 2 * HOUR))
    scan = scanner(repo, corpus)
    scan.scan(now=T0)
    assert documents(repo)["two.json"][0] == T0 + HOUR - SKEW
    scan.scan(now=T0 + HOUR)
    assert documents(repo)["two.json"][0] == T0 + 2 * HOUR - SKEW
    with repo.engine.connect() as conn:
        rows = dict(conn.execute(select(ARTICLES.c.web_url, ARTICLES.c.problems)).all())
    assert rows == {
        "https://news1.example.com/a": "published_in_future",
        "https://news3.example.com/a": "published_in_future",
    }
    scan.scan(now=T0 + 2 * HOUR)
    assert documents(repo)["two.json"][0] == T0 + 3 * HOUR - SKEW
    with repo.engine.connect() as conn:
        rows = dict(conn.execute(select(ARTICLES.c.web_url, ARTICLES.c.problems)).all())
    assert rows == {
        "https://news1.example.com/a": "published_in_future",
        "https://news3.example.com/a": "",
    }
    scan.scan(now=T0 + 3 * HOUR)
    assert problems(repo) == {"two.json": ""}
    assert documents(repo)["two.json"][0] is None


def test_a_file_of_dates_a_second_apart_is_not_read_again_at_every_pass(
    repo: Repository, tmp_path: Path
) -> None:
    """1,000 articles dated a second apart, one file, a rescan a minute (the default):
    each pass had one of its dates come, so the whole file was read, audited and
    stored again at every pass for as long as its dates spanned (a feed scheduled
    months ahead: every pass for months). It is read again for the clock at most
    every CLOCK_RECHECK_PASSES passes, and its findings still all clear."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    first = T0 + SKEW + 1000
    write(corpus / "feed.json", *(doc(n, published=first + 1000 * n) for n in range(1000)))
    scan = scanner(repo, corpus)
    scan.scan(now=T0)
    minute = 60_000
    reads = [k for k in range(1, 26) if scan.scan(now=T0 + k * minute).changed]
    assert len(reads) <= 25 // CLOCK_RECHECK_PASSES, reads
    assert set(problems(repo).values()) == {""}
    assert documents(repo)["feed.json"][0] is None


def test_a_file_marked_by_the_upgrade_is_not_said_to_have_its_date_come(
    repo: Repository, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Migration 0011 marks every file stored with the finding due at once (0), its
    date unknown: the first pass after the upgrade logged each as "a date in it is
    no longer in the future", year 9999 included, while the finding stayed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus / "far.json", doc(1, published=T0 + 1000 * HOUR))
    scanner(repo, corpus).scan(now=T0)
    with repo.engine.begin() as conn:  # what 0011 leaves on a file stored before it
        conn.execute(update(DOCUMENTS).values(recheck_at=0))
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
        assert scanner(repo, corpus).scan(now=T0 + 1).changed == 1
    said = [r.getMessage() for r in caplog.records if "audited again" in r.getMessage()]
    assert len(said) == 1 and "no longer in the future" not in said[0], said
    assert "before the upgrade" in said[0], said
    assert problems(repo) == {"far.json": "published_in_future"}
    assert documents(repo)["far.json"][0] == T0 + 1000 * HOUR - SKEW
