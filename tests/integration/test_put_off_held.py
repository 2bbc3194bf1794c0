"""A stop puts off the queued targets of its held hosts to their holds' ends
(repo `put_off`, dispatch.py `put_off_held`): due before the hold's end, a
held host's targets never claimed were the first a member taking the host
over claimed (tests/acceptance/test_cluster_stop_held_host.py "never claimed" shows
it with two daemons). Other hosts' targets, those due after the hold and
those leased, are left as they are."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import monitor.storage.queue as queue_mod
from monitor.daemon.placement import url_bucket
from monitor.storage import dialect
from monitor.storage.repository import DUE, LEASES, TARGETS, Repository

URLS = {
    1: "https://held.test/1",
    2: "http://HELD.test:80/2",  # another spelling of the host: held too
    3: "https://held.test/3",  # due after the hold ends
    4: "https://held.test/4",  # leased
    5: "https://other.test/5",
    6: "https://held.test:8443/6",  # the host on another port: the same gate
    7: "https://held.test/7",  # its due row without a bucket (claimed as bucket 0's)
    8: "https://bücher.test/8",  # held as its punycode (host_key)
    9: "http://[::1]:8080/9",  # an IPv6 literal, held as ::1
    10: "http://[::2]/10",  # another one, not held
    11: "https://bücher.test./11",  # the held IDN's absolute spelling
    12: "https://held.test/12",  # given back to the hold's end, read 1 ms earlier
}
BOUND = 10.0  # seconds: a bound on a hang, never a timing
DUE_AT = {
    1: 100,
    2: 200,
    3: 60_000,
    5: 100,
    6: 300,
    7: 400,
    8: 100,
    9: 100,
    10: 100,
    11: 500,
    12: 29_999,
}


@pytest.mark.parametrize("json1", [True, False], ids=["keys-listed", "keys-or"])
def test_a_held_hosts_queued_targets_are_put_off_to_its_holds_end(
    repo: Repository, monkeypatch: pytest.MonkeyPatch, json1: bool
) -> None:
    """Without SQLite's JSON1 (or on PostgreSQL, where it is not asked) the
    rows are named by an OR of their keys."""
    if not json1:
        monkeypatch.setattr(dialect, "_sqlite_has_json_each", lambda: False)
    with repo.engine.begin() as conn:
        conn.execute(
            TARGETS.insert(),
            [
                {
                    "id": i,
                    "url": u,
                    "kind": "web",
                    "next_due": DUE_AT.get(i, 100),
                    "active": 1,
                    "bucket": url_bucket(u),
                }
                for i, u in URLS.items()
            ],
        )
        conn.execute(
            DUE.insert(),
            [
                {"due": d, "target_id": i, "bucket": None if i == 7 else url_bucket(URLS[i])}
                for i, d in DUE_AT.items()
            ],
        )
        conn.execute(LEASES.insert(), [{"until": 5000, "target_id": 4}])
    holds = {"held.test": 30_000, "xn--bcher-kva.test": 20_000, "::1": 20_000}
    assert repo.put_off(holds) == 7
    with repo.engine.connect() as conn:
        due = {t: d for d, t in conn.execute(select(DUE.c.due, DUE.c.target_id))}
        next_due = dict(conn.execute(select(TARGETS.c.id, TARGETS.c.next_due)).all())
        leases = {t: u for u, t in conn.execute(select(LEASES.c.until, LEASES.c.target_id))}
    assert due == {
        **{1: 30_000, 2: 30_000, 3: 60_000, 5: 100, 6: 30_000, 7: 30_000},
        **{8: 20_000, 9: 20_000, 10: 100, 11: 20_000, 12: 29_999},
    }
    assert {i: next_due[i] for i in due} == due
    assert leases == {4: 5000}
    assert repo.put_off({}) == 0


def queue_one(repo: Repository, url: str) -> None:
    """Target 1, `url`, active and queued due at 100 ms."""
    with repo.engine.begin() as conn:
        conn.execute(
            TARGETS.insert(),
            [
                {
                    "id": 1,
                    "url": url,
                    "kind": "web",
                    "next_due": 100,
                    "active": 1,
                    "bucket": url_bucket(url),
                }
            ],
        )
        conn.execute(DUE.insert(), [{"due": 100, "target_id": 1, "bucket": url_bucket(url)}])


@pytest.mark.postgres
def test_a_target_claimed_and_given_back_during_put_off_stays_queued(
    pg_repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another member claims a held host's target and gives it back (due now)
    between put_off's read of the queue and its writes (PostgreSQL: no lock
    on what it read). put_off set the target's next_due to the hold's end
    while its due row said the give-back's time: the next claim took that row
    for a stray, deleted it, and the target was never due again (R41)."""
    repo = pg_repo
    url = "https://held.test/1"
    queue_one(repo, url)
    other = Repository(repo.engine)  # its own connections: another member
    real = queue_mod.url_host_key
    raced: list[int] = []

    def racing(u: str) -> str | None:
        if not raced:
            claims = other.claim_due(1_000, 10, 60_000)
            raced.extend(c.id for c in claims)
            other.release([(c.id, c.lease) for c in claims], 1_000)
        return real(u)

    monkeypatch.setattr(queue_mod, "url_host_key", racing)
    repo.put_off({"held.test": 30_000})
    assert raced == [1]
    assert [c.id for c in repo.claim_due(10**9, 10, 60_000)] == [1]


@pytest.mark.postgres
def test_put_off_waits_a_moment_at_most_for_a_row_another_transaction_holds(
    pg_repo: Repository,
) -> None:
    """A held host's target row locked by another transaction (another member's
    result or give-back under way, a maintenance job, an operator's session):
    put_off waited on it for as long as it was held, on the database thread a
    stop's give-backs and results share, and the stop's budget ran out on it
    (its warning then said claims were not given back, and the results still
    queued were not written). It now fails after a moment, and the stop says
    the hosts' targets were not put off (dispatch.py `put_off_held`; R41)."""
    repo = pg_repo
    url = "https://held.test/1"
    queue_one(repo, url)
    failed: list[BaseException] = []

    def put_off() -> None:
        try:
            repo.put_off({"held.test": 30_000})
        except OperationalError as exc:
            failed.append(exc)

    with repo.engine.connect() as holding:
        holding.execute(select(TARGETS.c.id).where(TARGETS.c.id == 1).with_for_update())
        worker = threading.Thread(target=put_off, daemon=True)
        worker.start()
        worker.join(BOUND)
        waiting = worker.is_alive()
        holding.rollback()  # let a waiting put_off end
    worker.join(BOUND)
    assert not waiting, "put_off still waited for the row"
    assert failed and "lock" in str(failed[0])
    with repo.engine.connect() as conn:  # nothing half done: the row as it was
        assert conn.execute(select(DUE.c.due, DUE.c.target_id)).all() == [(100, 1)]
