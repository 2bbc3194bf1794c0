"""A member that takes a host over (another left) claims none of its targets
before the hold the cluster recorded for the host (`host_backoff`) is imposed
on its gates. The heartbeat placed the hosts on its thread, read the holds
after, and imposed them on the loop: a claim between took the held host's
targets and asked the host at once. PostgreSQL (a cluster)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from monitor.config import Settings
from monitor.daemon.checkers import WorkerHolds
from monitor.daemon.cluster import Membership
from monitor.daemon.placement import host_bucket
from monitor.storage.repository import Repository

pytestmark = pytest.mark.postgres


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    return pg_repo


def member(repo: Repository, name: str, holds: WorkerHolds) -> Membership:
    settings = Settings(host_min_interval=0)
    return Membership(repo, lambda: settings, in_flight=list, hosts=lambda: holds, member_id=name)


def may_claim(m: Membership, host: str) -> bool:
    may, buckets = m.scope()
    return may and (buckets is None or host_bucket(host) in buckets)


async def test_a_host_taken_over_is_claimed_only_once_its_hold_is_imposed(
    repo: Repository,
) -> None:
    b_holds = WorkerHolds(2, lambda: [SimpleNamespace(holds={})])  # type: ignore[list-item]
    a = member(repo, "a", WorkerHolds(2, lambda: [SimpleNamespace(holds={})]))  # type: ignore[list-item]
    b = member(repo, "b", b_holds)
    for _ in range(2):
        await a.beat_once(str)  # type: ignore[arg-type]
        await b.beat_once(str)  # type: ignore[arg-type]
    host = next(h for h in (f"park{i}.test" for i in range(200)) if not may_claim(b, h))
    # a holds the host back and leaves, its hold recorded for the cluster
    repo.share_backoff({host: repo.db_now() + 30_000})
    repo.leave("a")
    # b's heartbeat, its thread's part: the host is b's now, its hold not yet imposed
    b.beat({})
    assert b_holds.backoff_remaining(host) == 0
    assert not may_claim(b, host)
    # the whole heartbeat: the hold imposed, then the host claimed (held back by it)
    await b.beat_once(str)  # type: ignore[arg-type]
    assert b_holds.backoff_remaining(host) > 20
    assert may_claim(b, host)
