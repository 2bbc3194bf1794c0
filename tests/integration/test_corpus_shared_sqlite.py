"""`corpus_shared` on SQLite: a cluster of one, so the daemon is its own leader and
rescans its paths (a documented no-op, never a corpus left unscanned)."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository


def test_a_sqlite_daemon_with_corpus_shared_scans(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    try:
        upgrade(engine)
        settings = Settings(corpus_shared=True)
        m = Membership(Repository(engine), lambda: settings, in_flight=list, hosts=lambda: None)
        assert not m.clustered
        assert m.leads() and m.scans_corpus()
    finally:
        engine.dispose()
