"""A claim's work is its own batch, not every lease held with the same end (issue 16).

`run --once` claims with one cutoff, so every claim's leases end at the same
time; the claim's join read back every lease held with that end (the checks
in flight and results not yet written), so each claim fetched several times
its own rows and the claims of a run grew with its length. Counted in
SQLite virtual-machine steps (a progress handler), never in time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from support.storage import seed_due_targets

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

TARGET_COUNT = 2_000
BATCH = 100
STEP = 50  # VM instructions per progress callback


def test_claims_at_one_cutoff_cost_the_same_however_many_leases_are_held(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    @event.listens_for(engine, "connect")
    def _watch(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(count, STEP)

    engine.dispose()  # connections opened from here on are watched
    with engine.begin() as conn:
        seed_due_targets(conn, TARGET_COUNT)
    repo = Repository(engine)
    cutoff = 1_000_000
    costs = []
    for _ in range(TARGET_COUNT // BATCH):
        before = steps[0]
        claimed = repo.claim_due(cutoff, BATCH, 60_000)  # `--once`: the same cutoff each time
        assert len(claimed) == BATCH
        costs.append(steps[0] - before)
    # the last claim (1,900 leases held before it) costs a little more than the first
    # (`_unleased` scans the held leases in SQLite, a few steps each: leases have no
    # index by target, by design); reading every held lease back made it ~10x
    assert costs[-1] < 3 * costs[0], costs
    assert len({c.id for c in claimed}) == BATCH
