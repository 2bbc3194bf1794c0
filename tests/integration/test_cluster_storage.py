"""The cluster's rows on a real database: membership, the leader lease, one
maintenance run per period, shared backoff, placement filters, and members
that start together (issue 14)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import update
from support.pg import PG_URL, pg_engine
from test_storage import FP, T0, done, record

from monitor.daemon.placement import BUCKETS, buckets_of, claimable, url_bucket, view_of
from monitor.daemon.state import State, TargetState
from monitor.storage.cluster import MAINTENANCE, ROLES
from monitor.storage.engine import make_engine
from monitor.storage.migrate import current_revision, head_revision, upgrade
from monitor.storage.repository import Repository
from monitor.vocabulary import Outcome


def row(member: str, view: str | None = None) -> dict[str, object]:
    return {
        "id": member,
        "host": "h",
        "pid": 1,
        "version": "0.1.0",
        "started_at": 0,
        "view": view,
        "checks": 0,
        "rate": 0.0,
    }


def test_one_leader_at_a_time_and_a_takeover_after_its_lease(repo: Repository) -> None:
    a = repo.heartbeat(row("a"), 60_000, 60_000)
    b = repo.heartbeat(row("b"), 60_000, 60_000)
    assert a.leader == b.leader == "a"
    assert [m.id for m in b.live] == ["a", "b"]
    # a stops renewing; b takes over only once a's lease (1 ms here) has run out
    repo.heartbeat(row("a"), 60_000, 1)
    wait = repo.db_now() + 5
    while repo.db_now() < wait:  # bounded: the database clock moves on
        pass
    assert repo.heartbeat(row("b"), 60_000, 60_000).leader == "b"
    assert repo.heartbeat(row("a"), 60_000, 60_000).leader == "b"
    repo.leave("b")
    assert repo.heartbeat(row("a"), 60_000, 60_000).leader == "a"
    assert [m.id for m in repo.cluster(60_000).members] == ["a"]


def test_maintenance_runs_once_per_period_whoever_asks(repo: Repository) -> None:
    repo.heartbeat(row("a"), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "b", 3_600_000) is False  # not the leader
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is True
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is False  # this period's is done
    repo.leave("a")
    repo.heartbeat(row("b"), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "b", 3_600_000) is False  # nor for a new leader
    assert repo.start_run(MAINTENANCE, "b", 0) is True


def test_a_failed_maintenance_run_is_run_again_at_the_next_tick(repo: Repository) -> None:
    repo.heartbeat(row("a"), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is True
    repo.fail_run(MAINTENANCE, "b")  # not the holder's: changes nothing
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is False
    repo.fail_run(MAINTENANCE, "a")
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is True  # not a period later
    assert repo.start_run(MAINTENANCE, "a", 3_600_000) is False


def test_a_run_failed_after_its_leader_lost_the_lease_is_run_again_by_the_new_one(
    repo: Repository,
) -> None:
    """A leader frozen past the server's idle timeout mid-maintenance: its lease
    was taken meanwhile, and its failed run held the new leader back a whole
    period (up to an hour of no retention)."""
    a, b = repo, Repository(repo.engine)
    a.heartbeat(row("a"), 60_000, 60_000)
    assert a.start_run(MAINTENANCE, "a", 3_600_000) is True
    # a's lease runs out (set back, not waited for: a 200 ms lease ran out under
    # load before a's start_run, which then found no lease to run under)
    with repo.engine.begin() as conn:
        conn.execute(update(ROLES).values(until=ROLES.c.until - 120_000))
    assert b.heartbeat(row("b"), 60_000, 60_000).leader == "b"
    assert b.start_run(MAINTENANCE, "b", 3_600_000) is False  # a's run counts
    a.fail_run(MAINTENANCE, "a")  # ... until it fails
    assert b.start_run(MAINTENANCE, "b", 3_600_000) is True
    a.fail_run(MAINTENANCE, "a")  # told twice: b's own run is not undone
    assert b.start_run(MAINTENANCE, "b", 3_600_000) is False


def test_backoff_learned_by_one_member_is_seen_by_all(repo: Repository) -> None:
    now = repo.db_now()
    assert repo.share_backoff({"slow.test": now + 60_000}) == {"slow.test": now + 60_000}
    assert repo.share_backoff({"slow.test": now + 1_000}) == {"slow.test": now + 60_000}
    assert repo.share_backoff({}) == {"slow.test": now + 60_000}


def test_a_member_claims_only_the_targets_of_its_buckets(repo: Repository) -> None:
    docs = [record(f"https://h{i}.test/a/", images=0) for i in range(40)]
    repo.store_document("a.txt", FP, docs, 0, T0)
    members = ["a", "b", "c"]
    got = {m: repo.claim_due(T0, 1000, 60_000, buckets_of(m, members)) for m in members}
    seen = [c.url for cs in got.values() for c in cs]
    assert len(seen) == len(set(seen)) == 80  # every target once, by one member
    for m, claims in got.items():
        assert all(url_bucket(c.url) in buckets_of(m, members) for c in claims)
    # due rows written by results and releases carry the bucket too
    every = [c for cs in got.values() for c in cs]
    up = TargetState(State.UP, 0, 1)
    half = len(every) // 2
    repo.record([done(c.id, c.lease, T0 + 5, Outcome.OK, c.state, up) for c in every[:half]])
    repo.release([(c.id, c.lease) for c in every[half:]], T0 + 5)
    later = T0 + 10**6
    again = {m: repo.claim_due(later, 1000, 60_000, buckets_of(m, members)) for m in members}
    assert sorted(c.url for cs in again.values() for c in cs) == sorted(seen)
    for m, claims in again.items():
        assert all(url_bucket(c.url) in buckets_of(m, members) for c in claims)


def test_placement_hands_over_only_when_everyone_has_drained() -> None:
    assert len(buckets_of("a", ["a"])) == BUCKETS
    two = ["a", "b"]
    three = ["a", "b", "c"]
    # c joins: until a and b publish the new view, c claims nothing and a keeps
    # only what it owned before and still owns
    mine, settled = claimable("c", three, {"a": view_of(two), "b": view_of(two)}, None)
    assert mine == frozenset() and not settled
    mine, settled = claimable("a", three, {"b": view_of(two), "c": None}, frozenset(two))
    assert mine == buckets_of("a", three) & buckets_of("a", two) and not settled
    views = {m: view_of(three) for m in three}
    mine, settled = claimable("c", three, views, None)
    assert settled and mine == buckets_of("c", three)
    # rendezvous: a join moves only about a third of the buckets
    moved = sum(1 for b in range(BUCKETS) if b in buckets_of("a", two) ^ buckets_of("a", three))
    assert moved < BUCKETS / 2


@pytest.mark.postgres
def test_members_starting_together_migrate_once() -> None:
    gen = pg_engine()
    engine = next(gen)
    try:
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)

        def start() -> None:
            barrier.wait()
            try:
                upgrade(engine)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert current_revision(engine) == head_revision()
    finally:
        gen.close()


@pytest.mark.postgres
def test_a_member_with_a_skewed_clock_keeps_the_databases_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leases and heartbeats compare times across members: an hour of skew on one
    machine must not make it see every lease as expired."""
    import monitor.daemon.cluster as member_mod
    from monitor.config import Settings
    from monitor.daemon.cluster import Membership

    gen = pg_engine()
    engine = next(gen)
    try:
        upgrade(engine)
        repo = Repository(engine)
        real = member_mod.now_ms
        monkeypatch.setattr(member_mod, "now_ms", lambda: real() + 3_600_000)
        settings = Settings()
        m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None)
        m.beat({})
        assert abs(m.now() - repo.db_now()) < 60_000  # the hour is gone
        seen = repo.cluster(10_000)
        assert [x.id for x in seen.live] == [m.id]  # alive by the database's clock
    finally:
        gen.close()


def test_host_backoff_can_be_read_and_imposed() -> None:
    from monitor.http.hostpool import HostPool

    now = [100.0]
    pool = HostPool(2, clock=lambda: now[0])
    pool.impose("slow.test", 30.0)
    assert pool.backoffs() == {"slow.test": 30.0}
    now[0] += 10
    assert pool.backoffs() == {"slow.test": 20.0}
    pool.impose("slow.test", 5.0)  # an earlier end never shortens it
    assert pool.backoff_remaining("slow.test") == 20.0


@pytest.mark.postgres
def test_the_cluster_bench_runs_on_a_tiny_workload() -> None:
    """bench/cluster.py claims: its figures are never asserted, only that it runs
    and reports what docs/scaling.md quotes."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [
            sys.executable,
            "bench/cluster.py",
            "claims",
            "--targets",
            "20000",
            "--rounds",
            "2",
            "--results",
            "40000",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert {"claim_alone_ms", "claim_one_of_three_ms", "record_500_ms", "sizes"} <= set(figures)
    assert {"schema_bytes", "retention_delete", "results_fill_s"} <= set(figures)
    assert figures["sizes"]["check_results"]["rows"] == 40_000 + 500
    assert 0 < figures["retention_delete"]["rows"] < 40_500
    assert figures["claim_plan_one_of_three"]  # the plan depends on the size: shown, not judged


def test_a_member_older_than_the_schema_says_so_instead_of_crashing(tmp_path: Path) -> None:
    """A rolling upgrade: one member migrated the database, another (older) restarts."""
    import subprocess
    import sys

    from sqlalchemy import text

    db = tmp_path / "am.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    cli = str(Path(sys.executable).with_name("article-monitor"))
    for args in (["run", str(corpus), "--once"], ["db", "upgrade"]):
        out = subprocess.run(
            [cli, *args, "--db", f"sqlite:///{db}"], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert "revision 0099, newer than this article-monitor" in out.stderr


def test_a_member_is_drained_only_with_no_claim_under_way_and_no_lost_host_in_flight(
    repo: Repository,
) -> None:
    from monitor.config import Settings
    from monitor.daemon.cluster import Membership

    live = frozenset({"a", "b"})
    theirs = next(
        f"https://h{i}.test/"
        for i in range(999)
        if url_bucket(f"https://h{i}.test/") in buckets_of("b", live)
    )
    ours = next(
        f"https://h{i}.test/"
        for i in range(999)
        if url_bucket(f"https://h{i}.test/") in buckets_of("a", live)
    )
    state = {"urls": [theirs, ours], "claiming": False}
    settings = Settings()
    m = Membership(
        repo,
        lambda: settings,
        in_flight=lambda: state["urls"],
        hosts=lambda: None,
        claiming=lambda: bool(state["claiming"]),
        member_id="a",
    )
    m._live = live
    m._note_drained()
    assert m._drained is None  # still checking a host that is b's now
    state["urls"], state["claiming"] = [ours], True
    m._note_drained()
    assert m._drained is None  # a claim under way may bring b's hosts
    state["claiming"] = False
    m._note_drained()
    assert m._drained == view_of(live)


def test_a_member_left_alone_waits_the_host_interval_before_taking_the_others_hosts(
    repo: Repository,
) -> None:
    """b stopped (its row gone): a now owns every bucket, but those it gains wait
    one host_min_interval, since b's last request may have been just now."""

    from monitor.config import Settings
    from monitor.daemon.cluster import Membership, _steady
    from monitor.storage.cluster import ClusterView, Member

    settings = Settings(host_min_interval=3600.0)
    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None, member_id="a")
    m.clustered = True
    m._settled = frozenset({"a", "b"})
    m._beats, m._last_ok = 2, _steady()
    me = Member("a", "h", 1, "v", 0, 0, None, 0, 0.0, True, True)
    m._place(ClusterView(now=0, members=(me,), leader="a"), settings)
    may, buckets = m.scope()
    assert may and buckets == buckets_of("a", ["a", "b"])
