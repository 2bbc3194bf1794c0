"""Rows from the future in the cluster's tables: written by hand, or by a database
whose clock has since been stepped back (NTP on the server). A dead member's last
heartbeat an hour ahead counted it alive for that hour: it kept its share of the
hosts, which nobody checked; a dead leader's lease an hour ahead kept the cluster
leaderless (no maintenance, no rescan of a shared corpus) as long."""

from __future__ import annotations

from sqlalchemy import text
from test_cluster_storage import row

from monitor.storage.cluster import MAINTENANCE
from monitor.storage.repository import Repository

TIMEOUT = 10_000
HOUR = 3_600_000


def test_a_heartbeat_from_the_future_is_not_a_live_member(repo: Repository) -> None:
    repo.heartbeat(row("ghost"), TIMEOUT, None)
    with repo.engine.begin() as conn:
        conn.execute(
            text("UPDATE cluster_members SET heartbeat_at = heartbeat_at + :h WHERE id = 'ghost'"),
            {"h": HOUR},
        )
    view = repo.heartbeat(row("a"), TIMEOUT, None)
    assert [m.id for m in view.live] == ["a"]
    assert [m.id for m in repo.cluster(TIMEOUT).live] == ["a"]


def test_a_lease_from_the_future_is_taken_over(repo: Repository) -> None:
    assert repo.heartbeat(row("ghost"), TIMEOUT, TIMEOUT).leader == "ghost"
    with repo.engine.begin() as conn:
        conn.execute(
            text("UPDATE cluster_roles SET until = until + :h WHERE role = :r"),
            {"h": HOUR, "r": MAINTENANCE},
        )
    # alive (its heartbeat is now): its lease stands, however long
    assert repo.heartbeat(row("a"), TIMEOUT, TIMEOUT).leader == "ghost"
    with repo.engine.begin() as conn:  # the clock stepped back under its last heartbeat too
        conn.execute(
            text("UPDATE cluster_members SET heartbeat_at = heartbeat_at + :h WHERE id = 'ghost'"),
            {"h": HOUR},
        )
    assert repo.heartbeat(row("a"), TIMEOUT, TIMEOUT).leader == "a"
