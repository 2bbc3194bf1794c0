"""A database file deleted or replaced under the running daemon stops it, saying
so (hostile review of the database's life): it went on recording into the
deleted file (SQLite keeps it open), its history lost at exit, while `status`
said there was no database and /readyz said all was well. A restore done by
moving a backup into place alike: the daemon wrote on into the old file.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config

DB = "article-monitor.db"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_daemon_stops_when_its_database_file_goes(tmp_path: Path, how: str) -> None:
    with LinkServer() as server:
        config = write_config(tmp_path, server.port)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        db = tmp_path / "data" / DB
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, "SELECT count(*) FROM check_results")[0][0] > 0)
            if how == "deleted":
                db.unlink()
            else:  # a backup moved into place
                shutil.copy(db, tmp_path / "backup.db")
                (tmp_path / "backup.db").replace(db)
            code = daemon.wait(60)  # the next look at the file (every few seconds)
        finally:
            if daemon.proc.poll() is None:
                daemon.signal(signal.SIGKILL)
            daemon.kill()
        text = daemon.text()
        assert code == 2, text
        assert "Traceback" not in text
        assert f"{db} was deleted or replaced" in text, text
