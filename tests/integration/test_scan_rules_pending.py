"""New rules (here `exclude_urls`) applied while a corpus path is missing reach
its documents when it is back (hostile review R20), and only theirs are read
again: the rest were read with the rules already.

A pass that kept a path's documents unread stored the rules' digest anyway,
and the path's unchanged files were never read again (a target just excluded
stayed due for good); a pass is not to read the whole corpus again for them
either (every rescan, for as long as the path is missing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from monitor.config import Settings
from monitor.daemon.scan import RULES_KEY, CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

A, C = "https://news.example.com/a", "https://news.example.com/c"


def test_a_path_kept_unread_is_read_with_the_new_rules_when_back(tmp_path: Path) -> None:
    corpus, other, away = (tmp_path / n for n in ("corpus", "other", "away"))
    for folder, url in ((corpus, A), (other, C)):
        folder.mkdir()
        (folder / "doc.txt").write_text(f'---\nwebUrl: "{url}"\n---\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)

    def scanner(**rules: list[str]) -> CorpusScanner:
        settings = Settings(paths=[corpus, other], data_dir=tmp_path, **rules)
        return CorpusScanner(repo, settings, KeyRing.empty())

    def due() -> list[str]:
        with engine.connect() as conn:
            q = "select url from targets where next_due is not null order by url"
            return [row[0] for row in conn.execute(text(q))]

    scanner().scan()
    assert due() == [A, C]
    recorded = repo.get_meta(RULES_KEY)
    excluding = scanner(exclude_urls=[r"/c$"])  # a start with a new pattern
    other.rename(away)
    first = excluding.scan()
    assert first.missing_roots == [str(other)] and first.changed == 1
    assert due() == [A, C]  # c's document kept, unread
    assert repo.get_meta(RULES_KEY) == recorded  # not read with the new rules: not stored
    away.rename(other)
    back = excluding.scan()
    assert back.changed == 1  # c's file only: a's was read with the pattern
    assert due() == [A]
    assert repo.get_meta(RULES_KEY) != recorded
    assert excluding.scan().changed == 0
    engine.dispose()


def test_a_path_that_holds_no_document_does_not_hold_the_digest_back(tmp_path: Path) -> None:
    """A configured path that was never there (or a folder never readable, a
    mount's lost+found) kept nothing unread: the digest is stored, and a
    restart does not read the whole corpus again, every start after."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.txt").write_text(f'---\nwebUrl: "{A}"\n---\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    settings = Settings(paths=[corpus, tmp_path / "not-there"], data_dir=tmp_path)
    first = CorpusScanner(repo, settings, KeyRing.empty()).scan()
    assert first.missing_roots == [str(tmp_path / "not-there")] and first.changed == 1
    assert repo.get_meta(RULES_KEY) is not None
    assert CorpusScanner(repo, settings, KeyRing.empty()).scan().changed == 0  # a restart
    engine.dispose()
