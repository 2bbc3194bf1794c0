"""The daemon's corpus scanner over a fresh, migrated SQLite store (a shared fixture).

It scans whatever the requesting module's `corpus` fixture builds, so each
module keeps its own corpus and shares the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository


@pytest.fixture
def scanner(tmp_path: Path, corpus: Path) -> Iterator[CorpusScanner]:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    settings = Settings(paths=[corpus], data_dir=tmp_path)
    yield CorpusScanner(Repository(engine), settings, KeyRing.empty())
    engine.dispose()
