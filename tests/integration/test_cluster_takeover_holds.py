"""A member that takes a host over (another left) claims none of its targets
before the hold the cluster recorded for the host (`host_backoff`) is imposed
on its gates. The heartbeat placed the hosts on its thread, read the holds
after, and imposed them on the loop: a claim between took the held host's
targets and asked the host at once. PostgreSQL (a cluster)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

import monitor.daemon.cluster as cluster_mod
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


async def two_members(repo: Repository) -> tuple[Membership, WorkerHolds, str]:
    """Members a and b, two heartbeats each: b, its holds, and a host of a's."""
    b_holds = WorkerHolds(2, lambda: [SimpleNamespace(holds={})])  # type: ignore[list-item]
    a = member(repo, "a", WorkerHolds(2, lambda: [SimpleNamespace(holds={})]))  # type: ignore[list-item]
    b = member(repo, "b", b_holds)
    for _ in range(2):
        await a.beat_once(str)  # type: ignore[arg-type]
        await b.beat_once(str)  # type: ignore[arg-type]
    host = next(h for h in (f"park{i}.test" for i in range(200)) if not may_claim(b, h))
    return b, b_holds, host


async def test_a_host_taken_over_is_claimed_only_once_its_hold_is_imposed(
    repo: Repository,
) -> None:
    b, b_holds, host = await two_members(repo)
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


async def test_a_host_taken_over_is_claimed_in_the_end_when_the_holds_cannot_be_read(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heartbeat placed the host (the member's now) but its read of the
    cluster's holds failed, beat after beat (a table it may not read, a
    statement timeout): the host stayed out of the member's claims for good,
    though its row was written and the others counted it the host's owner.
    It waits for the holds a heartbeat's timeout at most, as a member that
    could read no hold at all claims its other hosts (R41)."""
    b, _, host = await two_members(repo)
    repo.leave("a")

    def unreadable(*_: object, **__: object) -> dict[str, int]:
        raise OperationalError("SELECT host, until FROM host_backoff", {}, Exception("denied"))

    monkeypatch.setattr(repo, "share_backoff", unreadable)
    await b.beat_once(str)  # type: ignore[arg-type]
    assert not may_claim(b, host)  # its hold, if any, not known yet
    steady = cluster_mod._steady()
    timeout = Settings().cluster_timeout
    for n in range(1, 4):  # a beat every few seconds, every one failing its read
        monkeypatch.setattr(cluster_mod, "_steady", lambda n=n: steady + n * timeout / 2)
        await b.beat_once(str)  # type: ignore[arg-type]
    assert may_claim(b, host)
