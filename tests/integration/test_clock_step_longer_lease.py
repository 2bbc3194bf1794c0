"""A member started beside live members reads no start witness: they watched the
cluster's clock (the database's) all along, at every heartbeat, and saw any step.
A live member with a lease over twice this one's (a rolling change of
`lease_seconds`) or longer intervals made each other member's start log a false
step, expire that member's live leases at once (its checks claimed and made a
second time) and pull in its schedule. PostgreSQL (a cluster)."""

from __future__ import annotations

import logging

import pytest
from test_clock_step_back import SETTINGS
from test_storage import FP, record

from monitor.daemon.cluster import Membership
from monitor.storage.repository import Repository

LONG = SETTINGS.model_copy(update={"lease_seconds": 1200.0})


@pytest.mark.postgres
def test_a_start_beside_a_member_with_a_longer_lease_leaves_its_leases(
    pg_repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    repo = pg_repo
    a = Membership(repo, lambda: LONG, in_flight=list, hosts=lambda: None, member_id="a")
    a.beat({})
    t = repo.db_now()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, t)
    held = repo.claim_due(t, 100, int(LONG.lease_seconds * 1000))  # a's checks in flight
    assert held
    b = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="b")
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        b.beat({})
    assert repo.claim_due(repo.db_now(), 100, 300_000) == []  # a's leases stand
    assert not [r for r in caplog.records if "beyond two leases" in r.getMessage()]
