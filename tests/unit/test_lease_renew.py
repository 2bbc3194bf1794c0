"""The heartbeat renews the leases of the checks in flight (dispatch.py `renew`):
a host's claims waiting their turn at its gate outlasted their lease, and were
claimed and checked again meanwhile (tests/acceptance/test_cluster_lease_queue.py
shows it with two members). A renewed lease is the claim's from then on: its
result and its give-back name the new end; one that ran out, or was claimed
again, is not renewed."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from support.settings import settings
from support.storage import seed_due_targets

from monitor.daemon.dispatch import RENEWALS_IN_DOUBT, Dispatcher
from monitor.daemon.outcome import decide, policy_for
from monitor.daemon.writer import record_of
from monitor.storage.repository import DUE, LEASES, TARGETS, Repository
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

LEASE_MS = 3000


def leases(repo: Repository) -> dict[int, int]:
    with repo.engine.connect() as conn:
        return {int(t): int(u) for u, t in conn.execute(select(LEASES.c.until, LEASES.c.target_id))}


def due_ids(repo: Repository) -> set[int]:
    with repo.engine.connect() as conn:
        return set(conn.scalars(select(DUE.c.target_id)))


def test_a_held_lease_is_renewed_and_one_run_out_or_claimed_again_is_not(
    repo: Repository,
) -> None:
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 3)
    claimed = repo.claim_due(1000, 10, LEASE_MS)
    assert sorted(c.id for c in claimed) == [1, 2, 3]
    assert set(leases(repo).values()) == {4000}
    assert sorted(repo.renew([(1, 4000), (2, 4000)], 9000, 2000)) == [1, 2]
    assert repo.renew([(3, 4000)], 9000, 5000) == []  # ran out at 4000: anyone's now
    # past the old end, the renewed two are still held: only the run-out one is claimed
    again = repo.claim_due(5000, 10, LEASE_MS)
    assert [c.id for c in again] == [3]
    assert leases(repo) == {1: 9000, 2: 9000, 3: 8000}
    assert repo.renew([(3, 4000)], 12000, 6000) == []  # claimed again since: not ours
    # given back by the end they now hold; the old end names nothing
    repo.release([(1, 9000), (2, 4000)], 6000)
    assert due_ids(repo) == {1}
    assert leases(repo) == {2: 9000, 3: 8000}


class Held:
    """A checker whose checks wait until the test lets them go, but those of
    `at_once` (target 1's URL in seed_due_targets), answered at once."""

    def __init__(self, at_once: str | None = None) -> None:
        self.go = asyncio.Event()
        self.at_once = at_once

    async def check(self, url: str, kind: Kind) -> CheckResult:
        if url != self.at_once:
            await self.go.wait()
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))


class Writer:
    backlog = 0


def dispatcher_on(
    repo: Repository,
    clock: list[int],
    may: list[bool],
    finished: list[Claimed],
    concurrency: int = 4,
) -> Dispatcher:
    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    spawned: list[asyncio.Future[None]] = []
    s = settings(concurrency=concurrency, lease_seconds=LEASE_MS / 1000, cluster_heartbeat=0.5)
    dispatcher = Dispatcher(
        settings=lambda: s,
        repo=repo,
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append(claim),
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: spawned.append(asyncio.ensure_future(coro)),
        clock=lambda: clock[0],
        scope=lambda: (may[0], None),
    )
    dispatcher.spawned = spawned  # type: ignore[attr-defined]
    return dispatcher


async def test_a_renewed_claims_result_names_its_new_lease(repo: Repository) -> None:
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 3)
    clock, may, finished = [1000], [True], []
    dispatcher = dispatcher_on(repo, clock, may, finished)
    checker = Held(at_once="https://h1.test/1")
    dispatcher.checker = checker
    await dispatcher.dispatch()
    for _ in range(5):
        await asyncio.sleep(0)
    assert [(c.id, c.lease) for c in finished] == [(1, 4000)]  # came back: progress
    # (its result is not written here: its lease stays, and is no check's in flight)
    assert leases(repo) == {1: 4000, 2: 4000, 3: 4000}
    await dispatcher.renew()  # 3 s left of 3: not yet
    assert leases(repo) == {1: 4000, 2: 4000, 3: 4000}
    clock[0] = 2600  # 1.4 s left: within three heartbeats (1.5 s)
    may[0] = False  # not a live member now: the others may take its hosts
    await dispatcher.renew()
    assert leases(repo) == {1: 4000, 2: 4000, 3: 4000}
    may[0] = True
    await dispatcher.renew()
    assert leases(repo) == {1: 4000, 2: 5600, 3: 5600}
    checker.go.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert sorted((c.id, c.lease) for c in finished) == [(1, 4000), (2, 5600), (3, 5600)]
    assert not dispatcher._renewed  # forgotten with their checks


async def test_no_lease_is_renewed_while_no_check_comes_back(repo: Repository) -> None:
    """Checks that all hang leave the member stuck (cluster.py): their leases run
    out as it is found so, for the members its hosts go to, not a lease later.
    The lease without an answer counts from the claim that ended the idle spell
    (as the stuck judgement counts it): within it the first check may just be
    slow, and its queue's leases are renewed (test_lease_renew_slow_first.py)."""
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 2)
    clock, may, finished = [1000], [True], []
    dispatcher = dispatcher_on(repo, clock, may, finished)
    dispatcher.checker = Held()
    await dispatcher.dispatch()
    clock[0] = 2600  # 1.6 s of the claim's 3 s lease: a slow first check, maybe
    await dispatcher.renew()
    assert leases(repo) == {1: 5600, 2: 5600}
    clock[0] = 4100  # a whole lease since the claim and none came back: hung
    await dispatcher.renew()
    assert leases(repo) == {1: 5600, 2: 5600}
    dispatcher.abandon()
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_member_found_stuck_gives_back_the_claims_it_drops(repo: Repository) -> None:
    """Found stuck, a member drops its checks in flight and gives their claims
    back, due now: the heartbeat had renewed those waiting behind the hung ones
    while some still came back, and left to run out they kept the targets from
    the members its hosts go to up to a lease longer."""
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 3)
    clock, may, finished = [1000], [True], []
    dispatcher = dispatcher_on(repo, clock, may, finished)
    dispatcher.checker = Held(at_once="https://h1.test/1")
    await dispatcher.dispatch()
    for _ in range(5):
        await asyncio.sleep(0)
    clock[0] = 2600
    await dispatcher.renew()
    assert leases(repo) == {1: 4000, 2: 5600, 3: 5600}
    dispatcher.drop_stuck()
    await asyncio.gather(*dispatcher.spawned)  # type: ignore[attr-defined]
    assert not dispatcher.inflight
    assert leases(repo) == {1: 4000}  # given back by the lease renewed, due now
    assert due_ids(repo) == {2, 3}


class Each:
    """A checker whose check of each URL waits until the test lets that URL go."""

    def __init__(self) -> None:
        self.go: dict[str, asyncio.Event] = {}

    async def check(self, url: str, kind: Kind) -> CheckResult:
        await self.go.setdefault(url, asyncio.Event()).wait()
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC), http_status=200)

    def release(self, url: str) -> None:
        self.go.setdefault(url, asyncio.Event()).set()


def refusing_lease_updates(repo: Repository, on: bool) -> None:
    """A trigger that fails every UPDATE of `leases` (the renewal's statement, as a
    lock or statement timeout, a cut connection or a full disk fails it)."""
    with repo.engine.begin() as conn:
        if repo.dialect == "postgresql":
            if on:
                conn.execute(
                    text(
                        "CREATE FUNCTION refuse_renewal() RETURNS trigger LANGUAGE plpgsql "
                        "AS $$ BEGIN RAISE EXCEPTION 'renewal refused'; END $$"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_renewal BEFORE UPDATE ON leases "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_renewal()"
                    )
                )
            else:
                conn.execute(text("DROP TRIGGER refuse_renewal ON leases"))
                conn.execute(text("DROP FUNCTION refuse_renewal()"))
        elif on:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_renewal BEFORE UPDATE ON leases "
                    "BEGIN SELECT RAISE(ABORT, 'renewal refused'); END"
                )
            )
        else:
            conn.execute(text("DROP TRIGGER refuse_renewal"))


def recorded(repo: Repository, claims: list[Claimed], at: int) -> set[int]:
    """Write these claims' results as the writer does (record_of); the targets whose
    result was taken so far (their lease ended by it and the target moved on: a
    refused one is kept in `results` alone)."""
    rng = random.Random(1)
    s = settings()
    records = []
    for c in claims:
        result = CheckResult(c.url, c.kind, Outcome.OK, datetime.now(UTC), http_status=200)
        decision = decide(c.state, c.refs, result, policy_for(s, c.kind), rng)
        records.append(record_of(c, result, decision, at))
    repo.record(records)
    with repo.engine.connect() as conn:
        return set(conn.scalars(select(TARGETS.c.id).where(TARGETS.c.last_checked_at.is_not(None))))


@pytest.mark.parametrize("committed", [False, True], ids=["update-failed", "answer-lost"])
async def test_a_result_that_comes_as_a_renewal_fails_is_recorded(
    repo: Repository, committed: bool
) -> None:
    """A renewal whose UPDATE fails (the database refuses it: the lease keeps its
    old end) or whose answer is lost after it committed (the lease has the new
    end): a check that came back meanwhile is recorded, not refused for naming
    an end the database does not hold (a wasted check, a result lost from
    history), and the next heartbeat renews the lease the database holds."""
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 3)
    clock, may, finished = [1000], [True], []
    dispatcher = dispatcher_on(repo, clock, may, finished)
    checker = Each()
    dispatcher.checker = checker
    checker.release("https://h1.test/1")
    await dispatcher.dispatch()
    for _ in range(5):
        await asyncio.sleep(0)
    assert [(c.id, c.lease) for c in finished] == [(1, 4000)]
    finished.clear()

    failing = [True]  # the first renewal alone

    async def db(fn: Any, *args: Any) -> Any:
        if getattr(fn, "__name__", "") != "renew" or not failing:
            return fn(*args)
        failing.clear()
        checker.release("https://h2.test/2")  # comes back while the renewal runs
        for _ in range(20):
            await asyncio.sleep(0)
        if committed:
            fn(*args)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        refusing_lease_updates(repo, True)
        try:
            return fn(*args)
        finally:
            refusing_lease_updates(repo, False)

    dispatcher._db = db
    clock[0] = 2600  # 1.4 s left of 3: renewed
    await dispatcher.renew()
    assert leases(repo) == (
        {1: 4000, 2: 5600, 3: 5600} if committed else {1: 4000, 2: 4000, 3: 4000}
    )
    assert [c.id for c in finished] == [2]
    assert recorded(repo, finished, clock[0]) == {2}  # taken, by whichever end is held
    assert 2 not in leases(repo)
    finished.clear()
    clock[0] = 3000  # the next heartbeat renews what the database holds, from now
    await dispatcher.renew()
    assert leases(repo) == {1: 4000, 3: 6000}
    checker.release("https://h3.test/3")
    for _ in range(20):
        await asyncio.sleep(0)
    assert [(c.id, c.lease) for c in finished] == [(3, 6000)]
    assert recorded(repo, finished, clock[0]) == {2, 3}
    assert leases(repo) == {1: 4000}


async def test_a_result_after_many_failed_renewals_is_recorded(repo: Repository) -> None:
    """Renewals failing heartbeat after heartbeat (a database refusing them, more
    than the ends a claim keeps in doubt) while other checks come back: the
    lease keeps the end it had before the first failure, and the check's result
    is taken by it."""
    failures = RENEWALS_IN_DOUBT + 2
    with repo.engine.begin() as conn:
        seed_due_targets(conn, 2 + failures)
    clock, may, finished = [1000], [True], []
    dispatcher = dispatcher_on(repo, clock, may, finished, concurrency=2 + failures)
    checker = Each()
    dispatcher.checker = checker
    checker.release("https://h1.test/1")
    await dispatcher.dispatch()
    for _ in range(5):
        await asyncio.sleep(0)
    clock[0] = 2600
    await dispatcher.renew()
    assert leases(repo)[2] == 5600  # renewed once: the end before the failures
    refusing_lease_updates(repo, True)
    for n in range(failures):
        clock[0] = 4100 + n * 100
        target = 3 + n  # a check comes back at each heartbeat: the member is not stuck
        checker.release(f"https://h{target % 7}.test/{target}")
        for _ in range(5):
            await asyncio.sleep(0)
        await dispatcher.renew()
    refusing_lease_updates(repo, False)
    assert len(dispatcher.held_as(dispatcher.inflight[2][1]).ends) == RENEWALS_IN_DOUBT
    assert leases(repo)[2] == 5600
    finished.clear()
    checker.release("https://h2.test/2")
    for _ in range(20):
        await asyncio.sleep(0)
    # (target 1, its lease over, may be claimed and checked again by a refill)
    came = [c for c in finished if c.id == 2]
    assert len(came) == 1
    assert 2 in recorded(repo, came, clock[0])
    assert 2 not in leases(repo)
