"""A member whose machine was suspended (a laptop's sleep, a VM suspended inside)
longer than `cluster_timeout`: silent to the others all along, so on waking it
must neither claim its old buckets nor act as the leader before a heartbeat.

Its freshness was judged by the monotonic clock, which on Linux does not count
a suspended machine's time: on waking it thought its last heartbeat recent,
claimed the hosts the others had taken and ran maintenance as a leader it no
longer was. It is judged by the boot-time clock now. The clocks are injected.
"""

from __future__ import annotations

import pytest

import monitor.daemon.cluster as cluster_module
from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.storage.repository import Repository


def test_a_member_woken_from_a_suspend_claims_nothing_and_leads_nothing_until_a_beat(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    boot = [1000.0]  # the boot-time clock: counts the suspend
    monkeypatch.setattr(cluster_module, "_steady", lambda: boot[0])
    settings = Settings(cluster_timeout=10.0)
    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None, member_id="a")
    m.clustered = True
    m.beat({})
    m.beat({})
    assert m.scope()[0] and m.leads()
    boot[0] += 3600  # an hour asleep; time.monotonic() did not move meanwhile
    assert m.scope() == (False, frozenset())
    assert not m.leads()
    m.beat({})  # back: the others counted it dead; it rejoins and waits a second beat
    assert m.rejoined and not m.scope()[0]
    m.beat({})
    assert m.scope()[0]
