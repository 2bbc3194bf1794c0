"""`duplicate_url` across documents in the daemon's store: the corpus scanner
against a real SQLite file and real corpus files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.duplicates import ARTICLES, shadowed_documents

WEB = "https://news.example/story/1"


def doc(web: str, amp: str | None = None, title: str = "t") -> str:
    amp_line = f'ampWebUrl: "{amp}"\n' if amp else ""
    return f'---\nwebUrl: "{web}"\n{amp_line}title: "{title}"\n---\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus"
    path.mkdir()
    return path


def problems(scanner: CorpusScanner) -> dict[str, list[str]]:
    """Article problems by webUrl (the minimal test records lack fields: not the point here)."""
    with scanner.repo.engine.connect() as conn:
        return {
            r.web_url: [c for c in r.problems.split() if c != "missing_field"]
            for r in conn.execute(select(ARTICLES.c.web_url, ARTICLES.c.problems))
        }


def dup_gauge(scanner: CorpusScanner) -> int:
    return scanner.repo.snapshot().problems.get("duplicate_url", 0)


def test_two_documents_with_one_weburl(
    scanner: CorpusScanner, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (corpus / "a.txt").write_text(doc(WEB, title="first"))
    scanner.scan()
    assert problems(scanner) == {WEB: []} and dup_gauge(scanner) == 0
    caplog.set_level(logging.WARNING)
    # the same webUrl, written differently (normalised to one id), in a JSON file
    (corpus / "b.json").write_text(
        '{"webUrl": "https://NEWS.example:443/story/1", "title": "copy"}'
    )
    report = scanner.scan()
    assert report.duplicates == 1
    assert dup_gauge(scanner) == 1
    assert list(problems(scanner).values()) == [["duplicate_url"]]
    assert "a.txt:2" in caplog.text and "b.json:1" in caplog.text
    # a rescan with nothing changed keeps it, and does not log it again
    caplog.clear()
    scanner.scan()
    assert dup_gauge(scanner) == 1 and "duplicate_url" not in caplog.text
    # the copy goes: the problem clears and the article is still there and watched
    (corpus / "b.json").unlink()
    scanner.scan()
    assert dup_gauge(scanner) == 0
    assert problems(scanner) == {WEB: []}
    assert scanner.repo.snapshot().articles == 1
    assert sum(scanner.repo.snapshot().targets.values()) == 1  # its webUrl is still a target
    assert shadowed_documents(scanner.repo.engine) == []


def test_the_other_copy_going_keeps_the_article(scanner: CorpusScanner, corpus: Path) -> None:
    (corpus / "a.txt").write_text(doc(WEB, title="first"))
    scanner.scan()
    (corpus / "b.txt").write_text(doc(WEB, title="second"))
    scanner.scan()  # b.txt owns the row now
    assert dup_gauge(scanner) == 1
    (corpus / "a.txt").unlink()
    scanner.scan()
    assert dup_gauge(scanner) == 0 and scanner.repo.snapshot().articles == 1


def test_the_owner_going_keeps_the_article(scanner: CorpusScanner, corpus: Path) -> None:
    (corpus / "a.txt").write_text(doc(WEB, title="first"))
    scanner.scan()
    (corpus / "b.txt").write_text(doc(WEB, title="second"))
    scanner.scan()
    (corpus / "b.txt").unlink()  # the row's owner: its removal drops the row; a.txt re-adopts
    scanner.scan()
    assert dup_gauge(scanner) == 0
    with scanner.repo.engine.connect() as conn:
        assert conn.execute(select(ARTICLES.c.source)).scalars().all() == [str(corpus / "a.txt")]
    assert sum(scanner.repo.snapshot().targets.values()) == 1


def test_one_article_twice_in_one_file(scanner: CorpusScanner, corpus: Path) -> None:
    (corpus / "list.jsonl").write_text(f'{{"webUrl": "{WEB}"}}\n{{"webUrl": "{WEB}"}}\n')
    scanner.scan()
    assert dup_gauge(scanner) == 1
    (corpus / "list.jsonl").write_text(f'{{"webUrl": "{WEB}"}}\n')
    scanner.scan()
    assert dup_gauge(scanner) == 0


def test_two_articles_claiming_one_ampweburl(scanner: CorpusScanner, corpus: Path) -> None:
    amp = "https://news.example/amp/1"
    (corpus / "a.txt").write_text(doc(WEB, amp))
    (corpus / "b.txt").write_text(doc("https://news.example/story/2", amp))
    (corpus / "c.txt").write_text(doc("https://news.example/story/3", "https://news.example/amp/3"))
    scanner.scan()
    found = problems(scanner)
    assert found[WEB] == ["duplicate_url"]
    assert found["https://news.example/story/2"] == ["duplicate_url"]
    assert found["https://news.example/story/3"] == []
    assert dup_gauge(scanner) == 2
    (corpus / "b.txt").write_text(doc("https://news.example/story/2", "https://news.example/amp/2"))
    scanner.scan()
    assert dup_gauge(scanner) == 0


def test_other_problems_are_kept_beside_it(scanner: CorpusScanner, corpus: Path) -> None:
    future = f'---\nwebUrl: "{WEB}"\npublishedDateTime: "2999-01-01T00:00:00Z"\n---\n'
    (corpus / "a.txt").write_text(future)
    (corpus / "b.txt").write_text(future)
    scanner.scan()
    assert problems(scanner) == {WEB: ["duplicate_url", "published_in_future"]}
    (corpus / "b.txt").unlink()
    scanner.scan()
    assert problems(scanner) == {WEB: ["published_in_future"]}


def test_a_restart_sees_duplicates_already_stored(
    tmp_path: Path, corpus: Path, scanner: CorpusScanner
) -> None:
    (corpus / "a.txt").write_text(doc(WEB))
    (corpus / "b.txt").write_text(doc(WEB))
    scanner.scan()
    # a new scanner (a restarted daemon) has no memory of the files: the store tells it
    fresh = CorpusScanner(scanner.repo, scanner.settings, KeyRing.empty())
    fresh.scan()
    assert dup_gauge(fresh) == 1
    (corpus / "a.txt").unlink()
    fresh.scan()
    assert dup_gauge(fresh) == 0 and fresh.repo.snapshot().articles == 1
