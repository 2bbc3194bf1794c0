"""Cluster members started with different rules (kinds here; exclude_urls, related,
keys and exclude_fields the same way) on one PostgreSQL: each reads the corpus and
claims with its own, and before, nobody was told. Each member now publishes its
rules' digest with its heartbeat: both log a warning naming the other, and
`article-monitor cluster` shows the digests and that they differ.

It also shows (brief S2, defect 2) that a member whose claims are all of targets
its own rules leave out records nothing and is not reported stuck: it holds none
of them (not checked, left to their leases), and only claims held without a
result make a member stuck."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, wait_for, write_config
from sqlalchemy import text
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine

pytestmark = pytest.mark.postgres

HOSTS = [f"h{i}.test" for i in range(16)]  # m1 owns some of them (all but 2**-16 of the time)
LEASE = 1.5


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the test server, as a URL the daemons can take."""
    yield from pg_schema_url("k")


def cluster_json(pg_url: str) -> dict[str, object]:
    out = subprocess.run(
        [CLI, "cluster", "--db", pg_url, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed: dict[str, object] = json.loads(out.stdout)
    return listed


def test_members_with_other_kinds_are_told_shown_and_not_stuck(tmp_path: Path, pg_url: str) -> None:
    """m1 (kinds web) starts alone and stores web targets; m2 (kinds amp) starts on
    the same corpus and reads it again with its rules: only amp targets stay. Both
    warn naming the other, `cluster` says the rules differ; over three leases m1,
    which claims only amp targets on its hosts and checks none of them, is never
    found stuck. ~12 s: two starts on PostgreSQL, a rescan and the three leases."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for h in HOSTS:
        (corpus / f"{h}.txt").write_text(
            f'---\nwebUrl: "http://{h}/a/"\nampWebUrl: "http://{h}/a/amp/"\ntitle: "t"\n'
            f"provider:\n  name: News\n  domain: {h}\n---\n"
        )
    with LinkServer() as site:

        def member(name: str, kinds: list[str]) -> DaemonProcess:
            (tmp_path / name).mkdir()
            cfg = write_config(
                tmp_path / name,
                site.port,
                db=pg_url,
                paths=[str(corpus)],
                data_dir=str(tmp_path / "data"),  # one key ring: only the kinds differ
                connect_to=[f"{h}:80:127.0.0.1:{site.port}" for h in HOSTS],
                kinds=kinds,
                lease_seconds=LEASE,
                timeout=1.0,
                cluster_heartbeat=0.3,
                cluster_timeout=1.5,
            )
            return DaemonProcess(cfg)

        engine = make_engine(pg_url)
        members: list[DaemonProcess] = []
        try:
            members.append(member("m1", ["web"]))
            members[0].wait_listening()
            wait_for(lambda: "corpus scanned" in members[0].text(), 30, what=members[0].text)
            members.append(member("m2", ["amp"]))
            m1, m2 = members
            m2.wait_listening()

            def told() -> dict[str, object] | None:
                listed = cluster_json(pg_url)
                return listed if listed["members"] == 2 and listed["rules_differ"] else None

            listed = wait_for(told, 20, what=lambda: m2.text()[-3000:])
            rows = {str(r["pid"]): r for r in listed["list"]}  # type: ignore[attr-defined]
            one, two = rows[str(m1.proc.pid)], rows[str(m2.proc.pid)]
            assert one["rules"] != two["rules"] and len(str(one["rules"])) == 12
            for me, other in ((m1, two), (m2, one)):
                wait_for(
                    lambda me=me, other=other: (
                        f"differ from those of {other['id']} on " in me.text()
                    ),
                    10,
                    what=me.text,
                )
            _, ready = m1.get("/readyz")
            assert json.loads(ready)["cluster"]["rules_differ"] == [two["id"]], ready
            # m2 read the corpus again with its kinds: the web targets are retired
            with engine.connect() as conn:
                wait_for(
                    lambda: (
                        conn.execute(
                            text("select count(*) from targets where active = 1 and kind = 'web'")
                        ).scalar()
                        == 0
                    ),
                    20,
                    what=m2.text,
                )
            started = time.monotonic()
            time.sleep(3 * LEASE)  # claims held that long without a result would be stuck
            amp = [u for u, hits in site.url_hits.items() if u.endswith("/amp/") and hits]
            assert 0 < len(amp) < len(HOSTS)  # m2 checks its hosts' amp pages, m1 none
            listed = cluster_json(pg_url)
            assert listed["stuck"] == 0, listed
            assert "cluster: stuck" not in m1.text(), m1.text()
            assert time.monotonic() - started >= 3 * LEASE
        finally:
            for m in members:
                m.kill()
            engine.dispose()
