"""What a member says of its share of the hosts when the cluster's view changes."""

from __future__ import annotations

import logging

import pytest
from test_cluster_storage import row

from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.daemon.placement import BUCKETS, view_of
from monitor.storage.repository import Repository

TIMEOUT = 60_000


def member(repo: Repository, member_id: str) -> Membership:
    settings = Settings()
    m = Membership(
        repo,
        lambda: settings,
        in_flight=list,
        hosts=lambda: None,
        held=lambda: 0,
        recorded=lambda: 0,
        member_id=member_id,
    )
    m.clustered = True
    return m


def placed(repo: Repository, m: Membership, caplog: pytest.LogCaptureFixture) -> str:
    view = repo.heartbeat(row(m.id), TIMEOUT, None)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="monitor.daemon"):
        m._place(view, Settings())
    (line,) = [r.getMessage() for r in caplog.records if "host buckets" in r.getMessage()]
    return line


def test_a_member_alone_says_it_checks_every_bucket(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    """A cluster of one claims with no filter; it said "checks -1 of the host buckets"."""
    line = placed(repo, member(repo, "a"), caplog)
    assert f"1 live members (0 placed out), this one checks {BUCKETS} of the {BUCKETS}" in line


def test_two_members_each_say_their_share(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    repo.heartbeat(row("b", view_of(["a", "b"])), TIMEOUT, None)  # b has drained to it
    line = placed(repo, member(repo, "a"), caplog)
    assert "2 live members (0 placed out)" in line
    share = int(line.split("this one checks ")[1].split(" ")[0])
    assert 0 < share < BUCKETS and line.endswith(f"of the {BUCKETS} host buckets")
