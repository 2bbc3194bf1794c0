"""A member whose own clock runs two minutes ahead of the database, beating and
recording beside a member on time: no heartbeat of either takes it for a step
back (no walk of the queue, no lease expired), however many beats; its results
are stamped on the database's clock. PostgreSQL (a cluster)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from test_clock_step_back import SETTINGS
from test_storage import FP, record

import monitor.daemon.cluster as member_mod
from monitor.daemon.cluster import Membership
from monitor.daemon.outcome import decide, policy_for
from monitor.daemon.writer import record_of
from monitor.storage.repository import Repository
from monitor.vocabulary import CheckResult, Outcome

pytestmark = pytest.mark.postgres
AHEAD = 120_000


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    """Every test here on PostgreSQL alone."""
    return pg_repo


def test_a_member_two_minutes_ahead_makes_no_step_at_any_beat(
    repo: Repository, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = member_mod.now_ms
    monkeypatch.setattr(member_mod, "now_ms", lambda: real() + AHEAD)  # its own clock
    walks: list[int] = []
    pull_in = repo.pull_in_page
    monkeypatch.setattr(
        repo, "pull_in_page", lambda now, *a, **k: walks.append(now) or pull_in(now, *a, **k)
    )
    on_time = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="o")
    ahead = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="s")
    t = repo.db_now()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(3)], 0, t)
    rng = random.Random(1)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        for _ in range(10):
            for m in (ahead, on_time):
                m.beat({})
            for claim in repo.claim_due(ahead.now() + 10 * 3_600_000, 2, 300_000):
                own = datetime.now(UTC) + timedelta(milliseconds=AHEAD)  # its checker's
                result = CheckResult(claim.url, claim.kind, Outcome.OK, own, http_status=200)
                policy = policy_for(SETTINGS, claim.kind)
                decision = decide(claim.state, claim.refs, result, policy, rng)
                rec = record_of(claim, result, decision, ahead.now(), ahead.offset_ms)
                assert abs(rec.checked_at - repo.db_now()) < 60_000  # the cluster's clock
                repo.record([rec])
    assert walks == []
    assert not [r for r in caplog.records if "stepped back" in r.getMessage()]
