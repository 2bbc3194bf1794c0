"""A rolling upgrade: a member of the previous version retires a target by `next_due`
alone, leaving `active` set, so the target stayed listed and counted until the hourly
maintenance. While a member of another version is live the leader now mends the flags
at its heartbeat, once a minute at most; alone, it leaves that to the maintenance."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_cluster_storage import row
from test_storage import FP, T0, record

import monitor.daemon.cluster as cluster_module
from monitor import __version__
from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.daemon.maintenance import MEND_MIXED_EVERY
from monitor.storage.listing import TargetQuery
from monitor.storage.repository import Repository

SETTINGS = Settings()


def listed(repo: Repository) -> set[int]:
    return {item["id"] for item in repo.list_targets(TargetQuery()).items}


def retire_the_old_way(repo: Repository) -> int:
    repo.store_document("a.txt", FP, [record("https://n.test/a/")], 0, T0)
    tid = min(listed(repo))
    with repo.engine.begin() as conn:  # version 0009's retire: no `active`
        conn.execute(text("DELETE FROM due_queue WHERE target_id = :t"), {"t": tid})
        conn.execute(text("UPDATE targets SET next_due = NULL WHERE id = :t"), {"t": tid})
    assert tid in listed(repo)
    return tid


def test_beside_a_member_of_another_version_the_leader_mends_at_its_heartbeat(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    steady = [1000.0]
    monkeypatch.setattr(cluster_module, "_steady", lambda: steady[0])
    tid = retire_the_old_way(repo)
    old = {**row("old"), "version": "0.0.9"}
    assert old["version"] != __version__
    repo.heartbeat(old, 60_000, None)  # live, not leading
    m = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="new")
    m.beat({})
    assert m.leader
    assert tid not in listed(repo)
    mends: list[int] = []
    real = repo.mend_active_flags
    monkeypatch.setattr(repo, "mend_active_flags", lambda: mends.append(1) or real())
    steady[0] += 1.0
    repo.heartbeat(old, 60_000, None)
    m.beat({})
    assert mends == []  # a minute has not passed
    steady[0] += MEND_MIXED_EVERY
    repo.heartbeat(old, 60_000, None)
    m.beat({})
    assert mends == [1]


def test_alone_the_heartbeat_leaves_it_to_the_maintenance(repo: Repository) -> None:
    tid = retire_the_old_way(repo)
    m = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="new")
    m.beat({})
    assert m.leader
    assert tid in listed(repo)
    assert repo.mend_active_flags() == 1
    assert tid not in listed(repo)
