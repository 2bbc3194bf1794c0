"""PostgreSQL-only behaviour: concurrent daemons claim disjoint targets."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from support.pg import pg_engine
from test_storage import FP, T0, record

from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine() -> Iterator[Engine]:
    yield from pg_engine()


def test_two_concurrent_claimers_never_take_the_same_target(engine: Engine) -> None:
    upgrade(engine)
    seed = Repository(engine)
    docs = [record(f"https://n.test/{i}/", images=3) for i in range(300)]  # 1500 targets
    seed.store_document("a.txt", FP, docs, 0, T0)
    total = 1500
    taken: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claimer(n: int) -> None:
        repo = Repository(engine)
        barrier.wait()
        while True:
            got = repo.claim_due(T0, 37, 600_000)
            if not got:
                return
            taken[n].extend(c.id for c in got)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = taken
    assert len(a) + len(b) == total
    assert not set(a) & set(b)
    assert a and b  # both really worked at the same time
