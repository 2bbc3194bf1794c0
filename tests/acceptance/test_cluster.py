"""Three daemons on one PostgreSQL (CONTRACT section 8, issue 14): politeness held
cluster-wide, judged at the server; a member killed with SIGKILL loses no work;
the maintenance leader is taken over and maintenance runs once per period.

The loopback site records, per Host header, how many requests were in flight at
once and the gaps between request starts. Nothing here waits on the clock to
decide: every wait is a bounded poll for a condition, and the verdicts are
counts the server recorded.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, metric, wait_for, write_config
from sqlalchemy import Engine, text
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine
from monitor.storage.repository import Repository

# scale: daemons of a cluster, minutes in all; `make test-slow` (CI runs it after `make test`)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HOSTS = [f"h{i}.test" for i in range(6)]
PER_HOST = 1
MIN_INTERVAL = 0.3
INTERVAL = 3.0
LEASE = 4.0
JITTER = MIN_INTERVAL / 2  # a member's event loop stalled under load: seen 75 ms


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the test server, as a URL the daemons can take."""
    yield from pg_schema_url("c")


def corpus(dir_: Path, per_host: int) -> list[str]:
    urls = []
    for h in HOSTS:
        for i in range(per_host):
            url = f"http://{h}/a{i}"
            urls.append(f"{h}/a{i}")
            (dir_ / f"{h}-{i}.md").write_text(f'---\nwebUrl: "{url}"\ntitle: "t"\n---\n')
    return urls


def polite_config(tmp_path: Path, port: int, pg_url: str, **extra: Any) -> Path:
    """The politeness tests' member configuration: HOSTS on the site's port, short
    intervals, leases and cluster timings, the per-host limits under test."""
    return write_config(
        tmp_path,
        port,
        db=pg_url,
        connect_to=[f"{h}:80:127.0.0.1:{port}" for h in HOSTS],
        interval=INTERVAL,
        retry_interval=INTERVAL,
        lease_seconds=LEASE,
        per_host=PER_HOST,
        host_min_interval=MIN_INTERVAL,
        concurrency=8,
        cluster_heartbeat=0.3,
        cluster_timeout=1.5,
        **extra,
    )


def cluster_view(engine: Engine) -> Any:
    return Repository(engine).cluster(1500)


def all_live(engine: Engine, members: list[DaemonProcess]) -> None:
    """Every member started, listening, and live in the cluster's view."""
    for m in members:
        m.wait_listening()
    wait_for(
        lambda: len(cluster_view(engine).live) == len(members),
        60,
        what=lambda: members[0].text()[-3000:],
    )


def test_three_members_hold_politeness_and_lose_nothing_when_one_is_killed(
    tmp_path: Path, pg_url: str
) -> None:
    with LinkServer(pause=0.03) as site:
        config = polite_config(tmp_path, site.port, pg_url, maintenance_interval=2.0)
        urls = corpus(tmp_path / "corpus", 8)
        engine = make_engine(pg_url)
        t0 = time.monotonic()
        members = [DaemonProcess(config) for _ in range(3)]
        try:
            all_live(engine, members)
            # every target checked at least twice by the cluster of three
            wait_for(
                lambda: all(len(site.url_hits.get(u, [])) >= 2 for u in urls),
                90,
                what=lambda: f"hits {dict((u, len(t)) for u, t in site.url_hits.items())}",
            )
            view = cluster_view(engine)
            leader = view.leader
            assert leader is not None
            # every member sees the three; exactly one says it leads
            scraped = [m.get("/metrics")[1] for m in members]
            assert [metric(t, "article_monitor_cluster_members") for t in scraped] == [3.0] * 3
            assert sum(metric(t, "article_monitor_cluster_leader") or 0 for t in scraped) == 1
            _, ready = members[0].get("/readyz")
            assert '"cluster"' in ready and '"members": 3' in ready, ready
            listed = subprocess.run(
                [CLI, "cluster", "--db", pg_url, "--format", "json"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert listed.returncode == 0, listed.stderr
            shown = json.loads(listed.stdout)
            assert shown["members"] == 3 and shown["leader"] == leader
            assert sorted(x["pid"] for x in shown["list"]) == sorted(m.proc.pid for m in members)
            victim = next(
                m
                for m in members
                if str(m.proc.pid) in {str(x.pid) for x in view.live if x.id != leader}
            )
            with engine.connect() as conn:
                leased = conn.execute(text("SELECT count(*) FROM leases")).scalar_one()
            killed_at = time.monotonic()
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(10)
            # coverage: every target checked again after the kill (its leases ran out)
            wait_for(
                lambda: site.urls_hit_after(killed_at) >= set(urls),
                90,
                what=lambda: f"not re-checked: {set(urls) - site.urls_hit_after(killed_at)}",
            )
            takeover = max(
                min(x for x in site.url_hits[u] if x > killed_at) - killed_at for u in urls
            )
            wait_for(lambda: len(cluster_view(engine).live) == 2, 30)
            # stop the leader: another takes over and maintenance keeps its period
            chief = next(
                m
                for m in members
                if m is not victim
                and any(x.pid == m.proc.pid and x.leader for x in cluster_view(engine).live)
            )
            with engine.connect() as conn:
                ran_before = conn.execute(
                    text("SELECT ran_at FROM cluster_roles WHERE role = 'maintenance'")
                ).scalar_one()
            chief.proc.send_signal(signal.SIGKILL)
            chief.proc.wait(10)
            survivor = next(m for m in members if m is not victim and m is not chief)
            wait_for(
                lambda: any(
                    x.leader and x.pid == survivor.proc.pid for x in cluster_view(engine).live
                ),
                30,
                what=lambda: survivor.text()[-2000:],
            )
            with engine.connect() as conn:
                wait_for(
                    lambda: (
                        conn.execute(
                            text("SELECT ran_at FROM cluster_roles WHERE role = 'maintenance'")
                        ).scalar_one()
                        != ran_before
                    ),
                    30,
                )
            survivor.signal(signal.SIGTERM)
            assert survivor.wait(30) == 0
        finally:
            for m in members:
                m.kill()
            engine.dispose()
        runs = sum(m.text().count("maintenance: running as the cluster's leader") for m in members)
        # at the server: the cluster as a whole kept the per-host limits
        assert max(site.max_in_flight.values()) <= PER_HOST, dict(site.max_in_flight)
        # The server sees arrivals, not the client's starts: a stall of one member's
        # event loop (the machine is shared) delays one request's bytes more than
        # the next's, seen up to 190 ms on one keep-alive connection. Two members
        # on one host would use two connections: those gaps are the cluster's, and
        # are judged with JITTER; gaps on one connection are one member's gate
        # (tests/unit of the host pool) and are only reported.
        with site.lock:
            small = sorted(
                (round(b - a, 3), h, round(a - t0, 2), site.peers[h][i], site.peers[h][i + 1])
                for h, st in site.starts.items()
                for i, (a, b) in enumerate(itertools.pairwise(st))
                if b - a < MIN_INTERVAL
            )
        # (gap, host, at, connection before, connection after): on failure, says whether
        # two connections (two members?) or one connection's jitter came too close
        assert site.smallest_gap() >= MIN_INTERVAL - JITTER, (small[:10], killed_at - t0)
        # a target checked twice within half its interval: only after the kill's lease expiry
        doubles = sum(
            1
            for times in site.url_hits.values()
            for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
            if b - a < INTERVAL / 2
        )
        assert doubles <= leased, (doubles, leased)
        print(
            f"\ncluster: {sum(len(t) for t in site.url_hits.values())} checks, takeover "
            f"{takeover:.2f}s (lease {LEASE}s), doubles {doubles} (leases at kill {leased}), "
            f"maintenance runs {runs}, smallest gap {site.smallest_gap():.3f}s across "
            f"connections, {site.smallest_gap(across=False):.3f}s on one"
        )


def test_a_member_paused_beyond_the_timeout_rejoins_without_breaking_politeness(
    tmp_path: Path, pg_url: str
) -> None:
    """SIGSTOP one member for longer than `cluster_timeout` (a frozen VM, a long
    pause): the others take its hosts; when it resumes it must not claim them
    back before the handover settles. Judged at the server, by counts."""
    with LinkServer(pause=0.03) as site:
        config = polite_config(tmp_path, site.port, pg_url)
        urls = corpus(tmp_path / "corpus", 4)
        engine = make_engine(pg_url)
        members = [DaemonProcess(config) for _ in range(3)]
        try:
            all_live(engine, members)
            wait_for(lambda: all(len(site.url_hits.get(u, [])) >= 1 for u in urls), 60)
            sleeper = members[1]
            sleeper.signal(signal.SIGSTOP)
            wait_for(lambda: len(cluster_view(engine).live) == 2, 30)
            paused_at = time.monotonic()
            wait_for(  # taken over
                lambda: site.urls_hit_after(paused_at) >= set(urls),
                60,
                what=lambda: _takeover_state(engine, site, urls, paused_at, members),
            )
            sleeper.signal(signal.SIGCONT)
            wait_for(lambda: len(cluster_view(engine).live) == 3, 30)
            resumed_at = time.monotonic()
            wait_for(
                lambda: site.urls_hit_after(resumed_at) >= set(urls),
                60,
                what=lambda: _takeover_state(engine, site, urls, resumed_at, members),
            )
            assert "rejoining" in sleeper.text()
        finally:
            for m in members:
                m.kill()
            engine.dispose()
        assert max(site.max_in_flight.values()) <= PER_HOST, site.overlaps()[:10]
        assert site.smallest_gap() >= MIN_INTERVAL - JITTER, site.smallest_gap()


def _takeover_state(
    engine: Engine, site: LinkServer, urls: list[str], since: float, members: list[DaemonProcess]
) -> str:
    """What a failed wait for a takeover saw: the URLs not checked since, the live
    members, and the end of each member's log."""
    missing = sorted(set(urls) - site.urls_hit_after(since))
    live = [(x.id, x.checks) for x in cluster_view(engine).live]
    logs = "\n".join(
        f"--- member {n}:\n" + "\n".join(m.text().splitlines()[-25:]) for n, m in enumerate(members)
    )
    return f"not checked since: {missing}; live (id, checks): {live}\n{logs}"


def scanned(member: DaemonProcess) -> set[str]:
    """The corpus files this member recorded (its 'new document' log lines)."""
    return {
        Path(line.split("new document ", 1)[1].split(":", 1)[0]).name
        for line in member.text().splitlines()
        if "new document " in line
    }


def owners_checked(engine: Engine, urls: list[str]) -> bool:
    """Every live member that owns the host of one of `urls` has checked."""
    from monitor.daemon.placement import owner, url_bucket

    live = cluster_view(engine).live
    ids = [x.id for x in live]
    owning = {owner(url_bucket(f"http://{u}"), ids) for u in urls}
    return all(x.checks > 0 for x in live if x.id in owning)


def test_a_shared_corpus_is_recorded_by_the_leader_alone_and_by_its_successor(
    tmp_path: Path, pg_url: str
) -> None:
    """`corpus_shared`: only the leader writes the corpus tables; the others still
    check what it recorded; when the leader dies, the new leader records the
    files added since."""
    with LinkServer() as site:
        config = write_config(
            tmp_path,
            site.port,
            db=pg_url,
            connect_to=[f"{h}:80:127.0.0.1:{site.port}" for h in HOSTS],
            interval=1.0,
            retry_interval=1.0,
            rescan_interval=0.5,
            cluster_heartbeat=0.3,
            cluster_timeout=1.5,
            corpus_shared=True,
        )
        urls = corpus(tmp_path / "corpus", 2)
        engine = make_engine(pg_url)
        members = [DaemonProcess(config) for _ in range(3)]
        try:
            all_live(engine, members)
            wait_for(
                lambda: all(site.url_hits.get(u) for u in urls),
                60,
                what=lambda: f"unchecked: {set(urls) - set(site.url_hits)}",
            )
            view = cluster_view(engine)
            by_pid = {m.proc.pid: m for m in members}
            leader = next(by_pid[x.pid] for x in view.live if x.leader)
            followers = [m for m in members if m is not leader]
            # every member that owns a host of the corpus checks (with 6 hosts a member
            # owns none about one run in three: waiting for its checks failed the test),
            # and the leader alone recorded the documents
            wait_for(
                lambda: owners_checked(engine, urls),
                30,
                what=lambda: repr([(x.id, x.checks) for x in cluster_view(engine).live]),
            )
            # a file's "new document" line comes after its rows are committed, so
            # after its targets may be checked: waited for, not read at once
            wait_for(lambda: len(scanned(leader)) == len(urls), 30, what=leader.text)
            assert [scanned(m) for m in followers] == [set(), set()]
            _, ready = followers[0].get("/readyz")
            assert "scanned by the cluster's leader" in ready, ready
            leader.proc.send_signal(signal.SIGKILL)
            leader.proc.wait(10)
            heir = wait_for(
                lambda: next(
                    (
                        by_pid[x.pid]
                        for x in cluster_view(engine).live
                        if x.leader and x.pid in {f.proc.pid for f in followers}
                    ),
                    None,
                ),
                30,
            )
            (tmp_path / "corpus" / "late.md").write_text(
                f'---\nwebUrl: "http://{HOSTS[0]}/late"\ntitle: "t"\n---\n'
            )
            wait_for(lambda: f"{HOSTS[0]}/late" in site.url_hits, 60)
            other = next(m for m in followers if m is not heir)
            # its line may come after its check (above): on a loaded machine it had not
            wait_for(lambda: "late.md" in scanned(heir), 30, what=heir.text)
            assert scanned(other) == set()
        finally:
            for m in members:
                m.kill()
            engine.dispose()


def test_a_stuck_member_is_shown_and_its_hosts_are_checked_by_the_others(
    tmp_path: Path, pg_url: str
) -> None:
    """One member's every request hangs (its `connect_to` leads to a listener that
    never answers, its timeout is longer than the lease): it heartbeats but records
    nothing. It is shown stuck (`cluster`, /readyz, the gauge), its hosts are
    checked by the others, and the server never sees two requests at once to a
    host: the hanging ones count as in flight until the stuck member drops them."""
    hosts = [f"s{i}.test" for i in range(24)]  # every member owns some, whatever its id
    with LinkServer(pause=0.03, hang=True) as site:
        common: dict[str, Any] = {
            "db": pg_url,
            "interval": INTERVAL,
            "retry_interval": INTERVAL,
            "lease_seconds": 3.0,
            "per_host": PER_HOST,
            "host_min_interval": MIN_INTERVAL,
            "concurrency": 8,
            "cluster_heartbeat": 0.3,
            "cluster_timeout": 1.5,
        }
        config = write_config(
            tmp_path,
            site.port,
            connect_to=[f"{h}:80:127.0.0.1:{site.port}" for h in hosts],
            **common,
        )
        (tmp_path / "hung").mkdir()
        hung_config = write_config(
            tmp_path / "hung",
            site.hang_port,
            paths=[str(tmp_path / "corpus")],
            connect_to=[f"{h}:80:127.0.0.1:{site.hang_port}" for h in hosts],
            timeout=600.0,
            **common,
        )
        urls = []
        for h in hosts:
            urls.append(f"{h}/a")
            (tmp_path / "corpus" / f"{h}.md").write_text(
                f'---\nwebUrl: "http://{h}/a"\ntitle: "t"\n---\n'
            )
        engine = make_engine(pg_url)
        members = [DaemonProcess(config), DaemonProcess(config), DaemonProcess(hung_config)]
        healthy, stuck = members[0], members[2]
        try:
            all_live(engine, members)

            def shown() -> dict[str, Any] | None:
                out = subprocess.run(
                    [CLI, "cluster", "--db", pg_url, "--format", "json"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert out.returncode == 0, out.stderr
                data: dict[str, Any] = json.loads(out.stdout)
                return data if data["stuck"] else None

            data = wait_for(shown, 60, what=lambda: stuck.text()[-3000:])
            found_at = time.monotonic()
            assert [x["pid"] for x in data["list"] if x["stuck"]] == [stuck.proc.pid]
            assert site.hung > 0
            # every target checked (answered) after the stuck member was found
            wait_for(
                lambda: site.urls_hit_after(found_at) >= set(urls),
                60,
                what=lambda: f"not checked: {set(urls) - site.urls_hit_after(found_at)}",
            )
            wait_for(
                lambda: (
                    metric(healthy.get("/metrics")[1], "article_monitor_cluster_stuck_members")
                    == 1.0
                ),
                10,
            )
            _, ready = healthy.get("/readyz")
            assert '"stuck": [' in ready, ready
            code, ready = stuck.get("/readyz")
            assert code == 503 and '"progress": "stuck:' in ready, ready
            assert "cluster: stuck" in stuck.text()
        finally:
            for m in members:
                m.kill()
            engine.dispose()
        assert max(site.max_in_flight.values()) <= PER_HOST, site.overlaps()[:10]
        assert site.smallest_gap() >= MIN_INTERVAL - JITTER, site.smallest_gap()
