"""An article dated ahead of the clock loses `published_in_future` in a running daemon
when its date comes, though its file is never touched: a real `run`, real files,
its SQLite database and /metrics.

The rescan skips a file whose mtime and size did not move, so the finding stored
when the date was ahead stayed (status pages, API, the problems metric, alerts
on it) until the file changed or a SIGHUP: for ever on a quiet corpus.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, metric, query, wait_for, write_config

from monitor.rules.static import DEFAULT_SKEW

AHEAD = 4.0  # s past the allowed skew: the daemon's first scan of the file sees it ahead


def dated(when: datetime) -> str:
    return (
        '---\nwebUrl: "http://news.test/a/"\ntitle: "t"\n'
        f'publishedDateTime: "{when.isoformat()}"\n'
        "provider:\n  name: News\n  domain: news.test\n---\n"
    )


def test_a_future_date_clears_in_the_daemon_when_it_comes(tmp_path: Path) -> None:
    """The file is written once, just past the skew (the skew is a constant, five
    minutes), so the test waits for the date itself: ~AHEAD s, not a timing."""
    with LinkServer() as srv:
        config = write_config(tmp_path, srv.port, interval=3600.0)
        doc = tmp_path / "corpus" / "a.txt"
        when = datetime.now(UTC) + DEFAULT_SKEW + timedelta(seconds=AHEAD)
        doc.write_text(dated(when))
        written = doc.stat()
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            db = tmp_path / "data" / "article-monitor.db"

            def problems() -> str | None:
                found = query(db, "select problems from articles")
                return found[0][0] if found else None

            def gauge() -> float | None:
                return metric(daemon.get("/metrics")[1], "article_monitor_problems",
                              code="published_in_future")  # fmt: skip

            first = wait_for(lambda: problems() is not None, 20, what=daemon.text)
            assert first and problems() == "published_in_future", daemon.text()
            assert datetime.now(UTC) < when - DEFAULT_SKEW  # it was seen while ahead
            wait_for(lambda: gauge() == 1.0, 20, what=daemon.text)

            wait_for(lambda: problems() == "", AHEAD + 20, what=daemon.text)
            assert datetime.now(UTC) >= when - DEFAULT_SKEW
            wait_for(lambda: not gauge(), 20, what=daemon.text)
            assert (doc.stat().st_mtime_ns, doc.stat().st_size) == (
                written.st_mtime_ns,
                written.st_size,
            )
            time.sleep(1.0)  # a few more rescans (0.5 s): read once, not at every pass
            said = "audited again, unchanged: a date in it is no longer in the future"
            assert daemon.text().count(said) == 1, daemon.text()
            assert "updated document" not in daemon.text()
            assert daemon.stopped(20) == 0
        finally:
            daemon.kill()
        assert "Traceback" not in daemon.text(), daemon.text()
