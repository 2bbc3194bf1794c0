"""Members of one cluster (one PostgreSQL) that scan different paths: each its own
shard of the corpus, or one share mounted at different places. Each rescan
retired every document it had not found itself, so each member deleted the
others' documents (their targets, states and results with them) every
`rescan_interval`, and they added them back at their own next pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.repository import Repository

pytestmark = pytest.mark.postgres


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    """Every test here on PostgreSQL alone."""
    return pg_repo


def _doc(path: Path, host: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'---\nwebUrl: "https://{host}/a"\ntitle: "t"\n---\n')


def test_members_scanning_different_paths_keep_each_others_documents(
    repo: Repository, tmp_path: Path
) -> None:
    _doc(tmp_path / "shard-a" / "a.md", "a.test")
    _doc(tmp_path / "shard-b" / "b.md", "b.test")
    a = CorpusScanner(repo, Settings(paths=[tmp_path / "shard-a"]), KeyRing.empty())
    b = CorpusScanner(repo, Settings(paths=[tmp_path / "shard-b"]), KeyRing.empty())
    a.scan()
    report = b.scan()
    assert report.removed == 0
    assert sorted(Path(p).name for p in repo.documents()) == ["a.md", "b.md"]
    # a file gone from a member's own paths is still retired by that member
    (tmp_path / "shard-a" / "a.md").unlink()
    assert a.scan().removed == 1
    assert sorted(Path(p).name for p in repo.documents()) == ["b.md"]
