"""Members configured with different `cluster_timeout`s agree on who is alive.

Each member judged the others by its own timeout: one running with 1.5 s took
a member running with the default 10 s (heartbeat every 2 s) for dead between
two of its beats, took its host buckets while that member still checked them,
and the two checked the same hosts at once. Each member now publishes its
timeout with its heartbeat and is judged by it (or by the reader's, if longer).
"""

from __future__ import annotations

from sqlalchemy import text
from test_cluster_storage import row

from monitor.storage.cluster import TIMEOUT
from monitor.storage.repository import Repository


def _age(repo: Repository, member: str, ms: int) -> None:
    """Make `member`'s last heartbeat `ms` older, as a silence between beats would."""
    with repo.engine.begin() as conn:
        conn.execute(
            text("UPDATE cluster_members SET heartbeat_at = heartbeat_at - :ms WHERE id = :id"),
            {"ms": ms, "id": member},
        )


def test_a_member_is_judged_by_its_own_longer_timeout(repo: Repository) -> None:
    repo.heartbeat(row("slow"), 10_000, None)  # the default: beats every 2 s
    _age(repo, "slow", 3_000)  # between two of its beats, seen by a short-timeout member
    view = repo.heartbeat(row("quick"), 1_500, None)
    assert {m.id for m in view.live} == {"slow", "quick"}
    assert {m.id for m in repo.cluster(1_500).live} == {"slow", "quick"}
    _age(repo, "slow", 8_000)  # silent beyond its own timeout: dead for everyone
    assert {m.id for m in repo.heartbeat(row("quick"), 1_500, None).live} == {"quick"}


def test_a_reader_with_the_longer_timeout_keeps_it(repo: Repository) -> None:
    repo.heartbeat(row("quick"), 1_500, None)
    _age(repo, "quick", 3_000)
    # judged dead only when silent beyond both: never before its own members would
    assert "quick" in {m.id for m in repo.heartbeat(row("slow"), 10_000, None).live}


def test_a_member_that_publishes_no_timeout_is_judged_by_the_readers(repo: Repository) -> None:
    repo.heartbeat(row("old"), 10_000, None)
    with repo.engine.begin() as conn:  # a member of the previous version writes none
        conn.execute(text("DELETE FROM meta WHERE key = :k"), {"k": TIMEOUT + "old"})
        conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, 'x')"), {"k": TIMEOUT + "odd"})
    _age(repo, "old", 3_000)
    assert {m.id for m in repo.heartbeat(row("new"), 1_500, None).live} == {"new"}


def test_leaving_drops_the_published_timeout(repo: Repository) -> None:
    repo.heartbeat(row("a"), 10_000, None)
    repo.heartbeat(row("b"), 10_000, None)
    repo.leave("a")
    with repo.engine.connect() as conn:
        keys = {k for (k,) in conn.execute(text("SELECT key FROM meta"))}
    assert TIMEOUT + "a" not in keys and TIMEOUT + "b" in keys


def test_the_leader_lease_of_a_member_with_a_longer_timeout_is_not_taken_between_its_beats(
    repo: Repository,
) -> None:
    assert repo.heartbeat(row("slow"), 10_000, 10_000).leader == "slow"
    _age(repo, "slow", 3_000)  # between two of its beats; its lease runs 7 s more
    view = repo.heartbeat(row("quick"), 1_500, 1_500)
    assert view.leader == "slow" and not any(m.leader for m in view.members if m.id == "quick")
    assert repo.heartbeat(row("slow"), 10_000, 10_000).leader == "slow"
