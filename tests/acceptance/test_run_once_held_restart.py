"""`run --once` stopped (SIGTERM) while it waits out a host's hold, then run
again at once, as its exit 1 invites: the held host's targets were given back
due at the hold's end (dispatch.py `give_back`), so the second pass, started
before then, leaves them (not due at its cutoff) and exits 0. The first pass's
exit said `those left are due for the next pass`: the held ones were not, and
a script re-running the pass saw exit 0 with them unchecked and no word of
them. Its exit now says how many wait for a hold and when they fall due.

`held.test` answers its first request `429 Retry-After: 3600` (held for
`retry_after_max`, 20 s here) and serves the rest; `news.test` serves. The
waits are bounds on a hang; nothing is timed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, article, query, user_env, wait_for, write_config
from test_run_once_held_host import HELD, OTHERS, Site, site  # noqa: F401  (the fixture)

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "checker-processes"])
def test_run_once_stopped_in_a_hold_says_when_the_held_targets_fall_due(
    tmp_path: Path,
    site: Site,  # noqa: F811
    workers: int,
) -> None:
    """The first pass exits 1 naming the 7 held targets and their due time (the
    hold's end, within `retry_after_max` of the stop), not `due for the next
    pass` alone; the second pass, at once, asks nothing of the held host and
    exits 0, the 7 still unchecked and due at the hold's end, as its exit said.
    Before the fix the exit said only `those left are due for the next pass`.
    ~7 s: two starts (the second ~4 s: its checker processes), no hold waited."""
    site.retry_after = "3600"
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"held.test:80:127.0.0.1:{port}", f"news.test:80:127.0.0.1:{port}"],
        workers=workers,
        interval=3600.0,
        retry_interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        retry_after_max=20.0,
        shutdown_grace=3.0,
    )
    corpus = tmp_path / "corpus"
    for n, url in enumerate([*HELD, *OTHERS]):
        (corpus / f"{n}.txt").write_text(article(url))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config, "--once")

    def waiting() -> bool:
        """The other hosts checked, every answer of the held host recorded (its 429
        and what was sent with it), and the pass still on."""
        with site.lock:
            held = site.answered["held.test"]
        recorded = query(
            db,
            "SELECT count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
            " WHERE t.url LIKE 'http://held.test/%'",
        )
        others = query(db, "SELECT count(DISTINCT target_id) FROM check_results")
        return held >= 1 and recorded == [(held,)] and others == [(held + len(OTHERS),)]

    try:
        wait_for(waiting, BOUND, what=daemon.text)
        assert daemon.proc.poll() is None, daemon.text()
        with site.lock:
            asked = site.hits["held.test"]
        daemon.signal(signal.SIGTERM)
        stopped = time.time()
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 1, text
    assert "Traceback" not in text, text
    held_left = len(HELD) - asked
    said = re.search(r"(\d+) of them wait for their hosts' Retry-After or 429/503 hold", text)
    assert said is not None, text
    assert int(said.group(1)) == held_left, (asked, text)
    assert "due again by " in text, text

    again = subprocess.run(
        [CLI, "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=user_env(),
    )
    assert "Traceback" not in again.stderr, again.stderr
    assert again.returncode == 0, (text, again.stderr)
    assert site.hits["held.test"] == asked, (asked, again.stderr)  # nothing during the hold
    unchecked = query(
        db,
        "SELECT count(*) FROM targets t JOIN due_queue q ON q.target_id = t.id"
        " WHERE t.url LIKE 'http://held.test/%' AND q.due > ? AND q.due <= ?"
        " AND NOT EXISTS (SELECT 1 FROM check_results r WHERE r.target_id = t.id)",
        int(time.time() * 1000),
        int((stopped + 21) * 1000),
    )
    assert unchecked == [(held_left,)], (text, again.stderr)
