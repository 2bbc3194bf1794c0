"""A daemon on SQLite stopped while another program holds the database file
locked: the stop ends within its budget, and the member row it could not mark
is named for what it is. A daemon on its own has no others to time it out (the
warning said "the others will time us out")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config

BOUND = 60  # seconds: a bound on a hang, never a timing


def test_a_stop_with_the_file_locked_says_the_row_stays_live(tmp_path: Path) -> None:
    with LinkServer() as site:
        db = tmp_path / "data" / "article-monitor.db"
        # a lock wait (the URL's ?timeout=) shorter than the leave's bound: the leave
        # fails with SQLite's own error, which the warning gives in its first line
        cfg = write_config(
            tmp_path, site.port, shutdown_grace=0.5, db=f"sqlite:///{db}?timeout=0.3"
        )
        for i in range(3):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        daemon = DaemonProcess(cfg)
        holder = None
        try:
            wait_for(lambda: "scheduler running" in daemon.text(), BOUND, what=daemon.text)
            holder = sqlite3.connect(db, timeout=BOUND, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # every statement of the daemon waits
            code = daemon.stopped(BOUND, " while the file was locked")
        finally:
            if holder is not None:
                holder.rollback()
                holder.close()
            daemon.kill()
    out = daemon.text()
    assert code == 0, out
    # the error's first line, not SQLAlchemy's statement, parameters and link after it
    assert "could not mark this daemon as stopped (database is locked); " in out, out
    assert "[SQL:" not in out and "sqlalche.me" not in out, out
    assert "the others will time us out" not in out, out
    assert "Traceback" not in out, out
