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

# s past the allowed skew, counted from the daemon's first scan (of an empty corpus)
# to the date: its next rescan (0.5 s) must see the file while the date is ahead.
# Each try that saw it only once the date had come proves nothing either way, and
# the next allows twice as long (a loaded machine's stall, never a quiet one's).
AHEADS = (3.0, 8.0, 20.0)


def dated(when: datetime) -> str:
    return (
        '---\nwebUrl: "http://news.test/a/"\ntitle: "t"\n'
        f'publishedDateTime: "{when.isoformat()}"\n'
        "provider:\n  name: News\n  domain: news.test\n---\n"
    )


def test_a_future_date_clears_in_the_daemon_when_it_comes(tmp_path: Path) -> None:
    """The file is written once, just past the skew (the skew is a constant, five
    minutes), so the test waits for the date itself: ~3 s, not a timing.

    The date is set once the daemon has started (its first scan logged): written
    before the start, as it was, the start itself (~1 s, 2.5-3.6 s with two other
    daemons' tests on 2 cores) left under a second of the date ahead, and a
    slower one saw it already come (`first` was "", once in CI)."""
    tries = []
    with LinkServer() as srv:
        for n, ahead in enumerate(AHEADS):
            seen_ahead = _clears_when_the_date_comes(tmp_path / f"try{n}", srv.port, ahead)
            tries.append(ahead)
            if seen_ahead:
                return
    raise AssertionError(f"no first scan while the date was ahead, {tries} s ahead")


def _clears_when_the_date_comes(tmp: Path, port: int, ahead: float) -> bool:
    """The scenario, with the date `ahead` s past the skew when the file is written;
    False when the daemon's first read of the file came after the date (so said
    nothing), True once every assertion held."""
    tmp.mkdir()
    config = write_config(tmp, port, interval=3600.0)
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: "scheduler running" in daemon.text(), 20, what=daemon.text)
        doc = tmp / "corpus" / "a.txt"
        when = datetime.now(UTC) + DEFAULT_SKEW + timedelta(seconds=ahead)
        doc.write_text(dated(when))
        written = doc.stat()
        db = tmp / "data" / "article-monitor.db"

        def problems() -> str | None:
            found = query(db, "select problems from articles")
            return found[0][0] if found else None

        def gauge() -> float | None:
            return metric(daemon.get("/metrics")[1], "article_monitor_problems",
                          code="published_in_future")  # fmt: skip

        def stored() -> tuple[str] | None:  # a truthy wrapper: "" is a finding too
            found = problems()
            return None if found is None else (found,)

        (first,) = wait_for(stored, 20, what=daemon.text)  # one read, kept
        if first == "" and datetime.now(UTC) >= when - DEFAULT_SKEW:
            return False  # read only once the date had come: try again, further ahead
        assert first == "published_in_future", daemon.text()
        wait_for(lambda: gauge() == 1.0, 20, what=daemon.text)

        wait_for(lambda: problems() == "", ahead + 20, what=daemon.text)
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
    return True
