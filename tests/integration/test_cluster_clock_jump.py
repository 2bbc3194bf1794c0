"""A member's wall clock stepped (NTP, a VM resumed, an operator) between two
heartbeats: the cluster's clock it uses for due times, leases and results must
not step with it. An hour ahead for even one dispatch claimed every target due
within the hour and checked it at once, then pushed each one's next check an
hour late."""

from __future__ import annotations

import pytest

import monitor.daemon.cluster as member_mod
from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.storage.repository import Repository

pytestmark = pytest.mark.postgres

HOUR = 3_600_000
SLACK = 60_000  # far below the hour, far above any machine's hiccup


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    """Every test here on PostgreSQL alone."""
    return pg_repo


@pytest.mark.parametrize("step", [HOUR, -HOUR])
def test_a_step_of_the_wall_clock_between_beats_is_not_the_clusters(
    repo: Repository, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    settings = Settings()
    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None)
    m.beat({})
    real = member_mod.now_ms
    monkeypatch.setattr(member_mod, "now_ms", lambda: real() + step)
    assert abs(m.now() - repo.db_now()) < SLACK


def test_a_slow_database_after_a_step_keeps_the_clusters_clock(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clock reads slower than MAX_CLOCK_RTT_MS are not trusted: the last good one
    is carried forward by a steady clock, not by the stepped wall clock."""
    settings = Settings()
    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None)
    m.beat({})
    real_now, real_db = member_mod.now_ms, repo.db_now
    monkeypatch.setattr(member_mod, "now_ms", lambda: real_now() + HOUR)
    slow_mono = [0.0]
    real_mono = member_mod._steady

    def slow_db() -> int:  # every read of the database's clock takes a second
        slow_mono[0] += 1.0
        return real_db()

    monkeypatch.setattr(repo, "db_now", slow_db)
    monkeypatch.setattr(member_mod, "_steady", lambda: real_mono() + slow_mono[0])
    m.beat({})
    assert abs(m.now() - real_db()) < SLACK
