"""A PostgreSQL server of one test module's own, for tests that cut every
connection or restart the server: done on the suite's shared server
(scripts/with-postgres.sh), that broke whatever PostgreSQL test the other
pytest worker was running ("terminating connection due to administrator
command", "connection refused"), now and then.

Started as with-postgres.sh starts the shared one (initdb, trust, loopback,
fsync off), on a port the kernel found free; stopped and removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found is None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        found = str(candidates[-1]) if candidates else None
    return None if found is None else Path(found).resolve().parent  # a link: its own bin/


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_server() -> Iterator[str]:
    """The URL of database `am_test` on a server of its own; skips without the
    PostgreSQL binaries (as the shared server's tests do)."""
    if not os.environ.get("ARTICLE_MONITOR_TEST_PG_URL"):
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's initdb not found")
    base = Path(tempfile.mkdtemp(prefix="am-pg-own.", dir="/tmp"))
    base.chmod(0o755)
    runas: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(base, "postgres")
        runas = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*cmd: str | Path) -> None:
        done = subprocess.run(
            [*runas, *map(str, cmd)], capture_output=True, text=True, timeout=120, cwd="/"
        )
        assert done.returncode == 0, (cmd, done.stdout, done.stderr, _log(base))

    data = base / "data"
    try:
        run(bindir / "initdb", "-D", data, "-U", "am", "-A", "trust")
        options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
        run(bindir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-o", options, "start")
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "am", "am_test")
        yield f"postgresql+psycopg://am@127.0.0.1:{port}/am_test"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*runas, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
                cwd="/",
            )
        shutil.rmtree(base, ignore_errors=True)


def _log(base: Path) -> str:
    try:
        return (base / "log").read_text(errors="replace")[-2000:]
    except OSError:
        return ""
