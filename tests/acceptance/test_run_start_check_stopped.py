"""A stop during the start's database check ends `run` at once (hostile review).

The check (SQLite's quick_check over the whole file, ~1 s per 70 MB; a
PostgreSQL connect and `SELECT 1`) runs in a thread that nothing can stop,
and asyncio.run joined that thread before the process could exit: a SIGTERM
during a multi-minute check waited for all of it, past Kubernetes' grace
period, to a SIGKILL. `run` now listens during that check (probes tell a long
start from a hung one), so a long start is normal and a stop during it common
(a rollout, a node drain). The check only reads: the process leaves it behind.

The check is held here by a PostgreSQL that accepts and never answers, with
the URL's own connect timeout far beyond the test's bound on a hang.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
from pathlib import Path

from daemon_harness import CLI, one_article_corpus, user_env, wait_for

HELD_S = 600  # the URL's connect timeout: the check is held this long
BOUND = 60  # seconds: a bound on a hang, never a timing


def _readyz(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().read().decode()
    except OSError:
        return ""  # not listening yet
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_during_a_held_database_check_exits_130_at_once(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    with socket.socket() as silent:  # accepts (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        db = (
            f"postgresql+psycopg://monitor@127.0.0.1:{silent.getsockname()[1]}/monitor"
            f"?connect_timeout={HELD_S}"
        )
        port = _free_port()
        log = tmp_path / "run.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [CLI, "run", str(corpus), "--db", db, "--listen", f"127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=user_env(),
            )
        try:
            wait_for(lambda: "checking the database" in _readyz(port), BOUND, what=log.read_text)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(BOUND)  # before: the whole connect timeout (10 minutes)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    text = log.read_text()
    assert code == 130, text
    assert "interrupted (SIGTERM)" in text, text
    assert "Traceback" not in text and "was destroyed" not in text, text
    with socket.socket() as probe:  # nothing listens any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
