"""A SQLite URL's `?timeout=0` is the wait for a lock another process holds: the
daemon's own writers still take turns (storage/turns.py) as long as by default.
The turns waited the URL's timeout too, 0: alone on its file, `run --once` on
3,000 articles failed its own claims and scan on each other ("database is
locked") and exited 1, "the corpus could not be recorded"."""

from __future__ import annotations

import json
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, write_config


def test_run_once_alone_on_its_file_with_no_lock_wait_records_everything(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = (json.dumps({"webUrl": f"http://news.test/{n}/", "title": "t"}) for n in range(3000))
    (corpus / "all.jsonl").write_text("\n".join(lines) + "\n")
    with LinkServer() as site:
        db = f"sqlite:///{tmp_path / 'am.db'}?timeout=0"
        daemon = DaemonProcess(write_config(tmp_path, site.port, db=db, interval=3600.0), "--once")
        try:
            code = daemon.wait(120)
        finally:
            daemon.kill()
    assert code == 0, daemon.text()
    assert "database is locked" not in daemon.text()
