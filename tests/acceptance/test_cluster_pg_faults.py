"""Two daemons on one PostgreSQL whose connections are cut under them: every
backend of the members terminated (pg_terminate_backend), then the server
restarted (pg_ctl restart). The members must keep their membership and go on
checking every target, without breaking the cluster's per-host limit. The
server is this module's own (support/private_pg.py): cut on the suite's shared
one, the other pytest worker's PostgreSQL test lost its connections too.

Verdicts are counts the loopback site recorded and the cluster rows; every wait
is a bounded poll for a condition.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import text
from support.private_pg import private_server
from test_cluster import PER_HOST, all_live, cluster_view, corpus, polite_config

from monitor.storage.engine import make_engine

# scale: daemons of a cluster, minutes in all; `make test-slow` (CI runs it after `make test`)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_server() -> Iterator[str]:
    with private_server() as url:
        yield url


@pytest.fixture
def pg_url(own_server: str) -> Iterator[str]:
    """A schema of its own on this module's server, as a URL the daemons can take."""
    schema = f"c_{uuid.uuid4().hex[:12]}"
    admin = make_engine(own_server)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        yield f"{own_server}?options=-csearch_path%3D{schema}"
    finally:
        admin.dispose()


def _terminate_members(admin_url: str) -> int:
    admin = make_engine(admin_url)
    try:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND datname = current_database()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def _restart_server(admin_url: str) -> None:
    admin = make_engine(admin_url)
    try:
        with admin.connect() as conn:
            data = str(conn.execute(text("SHOW data_directory")).scalar_one())
    finally:
        admin.dispose()
    pg_ctl = shutil.which("pg_ctl") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None
    )
    if pg_ctl is None:
        pytest.skip("pg_ctl not found")
    owner = Path(data).stat().st_uid
    cmd = [pg_ctl, "-D", data, "-m", "fast", "-w", "restart"]
    if os.getuid() == 0 and owner != 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    log = Path(data).parent / "log"
    cmd[cmd.index("-m") : cmd.index("-m")] = ["-l", str(log)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("fault", ["terminate", "restart"])
def test_members_keep_checking_after_their_connections_are_cut(
    tmp_path: Path,
    own_server: str,
    pg_url: str,
    fault: str,
) -> None:
    with LinkServer(pause=0.01) as site:
        config = polite_config(tmp_path, site.port, pg_url)
        urls = corpus(tmp_path / "corpus", 2)
        engine = make_engine(pg_url)
        members = [DaemonProcess(config) for _ in range(2)]
        try:
            all_live(engine, members)
            wait_for(lambda: all(site.url_hits.get(u) for u in urls), 60)
            engine.dispose()
            if fault == "terminate":
                assert _terminate_members(own_server) >= 2
            else:
                _restart_server(own_server)
            cut = time.monotonic()
            # every target checked again after the cut, by a cluster of two again
            wait_for(
                lambda: site.urls_hit_after(cut) >= set(urls),
                60,
                what=lambda: (
                    f"not re-checked: {set(urls) - site.urls_hit_after(cut)}\n"
                    + "\n".join(m.text()[-1500:] for m in members)
                ),
            )
            wait_for(lambda: len(cluster_view(engine).live) == 2, 30)
            later = time.monotonic()
            wait_for(lambda: site.urls_hit_after(later) >= set(urls), 60)
            for m in members:
                assert m.proc.poll() is None, m.text()[-3000:]
                wait_for(
                    lambda m=m: m.get("/readyz")[0] == 200,
                    30,
                    what=lambda m=m: m.get("/readyz")[1],
                )
        finally:
            for m in members:
                m.kill()
            engine.dispose()
        assert max(site.max_in_flight.values()) <= PER_HOST, dict(site.max_in_flight)
        for m in members:
            assert "Traceback" not in m.text(), m.text()[-4000:]
