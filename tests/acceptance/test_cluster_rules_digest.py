"""Cluster members with their own paths (shards) on one PostgreSQL keep the
rules' digest each (hostile review R20): one stored for all, so a member that
had read its own shard with new `exclude_urls` left another, restarted with
the same patterns, skipping its unchanged files and keeping a target they
exclude due (never checked nor retired)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, write_config
from sqlalchemy import text
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine

pytestmark = pytest.mark.postgres

A, C = "http://news.test/a/", "http://news.test/c/"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the test server, as a URL the daemons can take."""
    yield from pg_schema_url("r")


def hits(site: LinkServer, url: str, after: float = 0.0) -> int:
    key = url.removeprefix("http://")
    with site.lock:
        return sum(1 for t in site.url_hits.get(key, []) if t > after)


def test_a_member_restarted_with_new_patterns_reads_its_own_shard_again(
    tmp_path: Path, pg_url: str
) -> None:
    """Members m1 (article a) and m2 (article c), three `run --once` (~1.5 s
    each on PostgreSQL: the rules are read at a start): m2 with no pattern,
    then m1 and m2 with one for /c/. m2's unchanged file is read again with
    it: c is retired and not requested."""
    with LinkServer() as site:

        def once(member: str, **change: Any) -> DaemonProcess:
            # one data_dir, and so one key ring: the same rules, other paths
            data = str(tmp_path / "data")
            # a start on PostgreSQL claims after its second heartbeat (joining.py):
            # 0.3 s apart, not the default 2 s, a third of each `run --once`
            cfg = write_config(
                tmp_path / member,
                site.port,
                db=pg_url,
                data_dir=data,
                cluster_heartbeat=0.3,
                **change,
            )
            daemon = DaemonProcess(cfg, "--once")
            try:
                daemon.wait(60)
            finally:
                daemon.kill()
            assert daemon.proc.returncode == 0, daemon.text()
            return daemon

        for member, url in (("m1", A), ("m2", C)):
            (tmp_path / member / "corpus").mkdir(parents=True)
            (tmp_path / member / "corpus" / "doc.txt").write_text(article(url))
        once("m2")
        assert hits(site, C) == 1
        once("m1", exclude_urls=[r"/c/$"])
        started = time.monotonic()
        second = once("m2", exclude_urls=[r"/c/$"])
        assert hits(site, C, started) == 0
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            active = conn.execute(
                text("select url from targets where next_due is not null order by url")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in active] == [(A,)], second.text()
