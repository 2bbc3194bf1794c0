"""A lease shorter than a check can take: the check is claimed again by another
member and the slow (but answering) member is found stuck, a false positive
that nothing announced. The daemon says so at start (monitor/daemon/cluster.py)."""

from __future__ import annotations

from monitor.config import Settings
from monitor.daemon.cluster_settings import lease_warning


def test_the_defaults_leave_room() -> None:
    assert lease_warning(Settings()) is None  # 3 x 10 s + 2 x 60 s < 300 s


def test_long_timeouts_against_the_lease_are_named() -> None:
    why = lease_warning(Settings(timeout=120.0, lease_seconds=300.0))
    assert why is not None and "lease_seconds (300)" in why and "480 s" in why


def test_retry_waits_count() -> None:
    s = Settings(timeout=10.0, retries=2, retry_after_max=600.0, lease_seconds=300.0)
    assert lease_warning(s) is not None
    assert lease_warning(s.model_copy(update={"lease_seconds": 1300.0})) is None


def test_a_daemon_alone_is_told_its_checks_restart() -> None:
    """On SQLite (no cluster) the lease is the daemon's own: a check outliving it
    is claimed again and restarted, and on a host that keeps it that long it
    never ends (R25: no request to another host in 16 s with a 2 s lease)."""
    s = Settings(timeout=10.0, retries=10, retry_after_max=60.0, lease_seconds=300.0)
    why = lease_warning(s, clustered=False)
    assert why is not None and "restarted when its lease runs out" in why
    assert "member" not in why
    assert lease_warning(Settings(), clustered=False) is None
