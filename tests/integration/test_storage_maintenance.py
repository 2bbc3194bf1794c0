"""Rollups and retention against a real SQLite database."""

from __future__ import annotations

from pathlib import Path

from test_storage import FP, T0, done, record

from monitor.daemon.maintenance import ROLLED_THROUGH, ROLLUP_GRACE_MS, run_maintenance
from monitor.daemon.rollup import percentile, rollup_row
from monitor.daemon.state import TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, ROLLUPS, Repository
from monitor.vocabulary import Outcome


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95
    assert percentile([7], 0.95) == 7 and percentile([], 0.5) is None
    row = rollup_row(3, 19000, [(0, 10), (0, 30), (3, None), (0, 20)])
    assert row == {
        "target_id": 3,
        "day": 19000,
        "checks": 4,
        "counts": "0:3 3:1",
        "p50_ms": 20,
        "p95_ms": 30,
    }


def test_finished_days_are_rolled_up_once_then_raw_results_expire(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    day0 = T0 // DAY_MS * DAY_MS
    claim = repo.claim_due(T0, 1, 1000)[0]
    at = [day0 + d * DAY_MS + h * 3_600_000 for d in range(3) for h in (1, 2, 3)]
    repo.record(
        [
            done(
                claim.id,
                claim.lease,
                t,
                Outcome.OK if i % 3 else Outcome.HTTP_ERROR,
                TargetState(),
                TargetState(),
            )
            for i, t in enumerate(at)
        ]
    )
    now = day0 + 3 * DAY_MS + ROLLUP_GRACE_MS  # days 0, 1 and 2 are complete
    # a running daemon's newest result is about now: retention counts back from it
    repo.record([done(claim.id, claim.lease, now, Outcome.OK, TargetState(), TargetState())])
    report = run_maintenance(repo, now, retention_days=1, rollup_retention_days=365)
    assert report.days_rolled == 3 and report.rollups == 3
    assert report.results_deleted == 6  # older than one day: days 0 and 1
    with engine.connect() as conn:
        rows = conn.execute(ROLLUPS.select().order_by(ROLLUPS.c.day)).all()
    assert [(r.checks, r.counts) for r in rows] == [(3, "0:2 3:1")] * 3
    assert repo.get_meta(ROLLED_THROUGH) == str(day0 // DAY_MS + 2)
    again = run_maintenance(repo, now, retention_days=1, rollup_retention_days=365)
    assert again.days_rolled == 0 and again.results_deleted == 0
    later_at = now + 400 * DAY_MS
    repo.record([done(claim.id, claim.lease, later_at, Outcome.OK, TargetState(), TargetState())])
    later = run_maintenance(repo, later_at, retention_days=1, rollup_retention_days=365)
    assert later.rollups_deleted == 3
    engine.dispose()


def test_old_events_and_expired_probe_answers_leave_with_maintenance(tmp_path: Path) -> None:
    """A daemon that runs for months probes new directories (dated paths) every
    day: their expired answers were deleted only at a restart, so the table
    grew with every directory ever seen; and text_changed events were never
    deleted. Expired answers go at each maintenance, events past the rollup
    retention too."""
    from monitor.storage.pages import EVENTS
    from monitor.storage.probes import PROBES

    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    now = T0 // DAY_MS * DAY_MS + 400 * DAY_MS
    for d in range(2000):  # directories probed over the months, one still fresh
        repo.keep_probe_answer(
            {
                "site": "https n.test ",
                "directory": f"/2026/{d}",
                "url": f"https://n.test/2026/{d}/am-probe-1",
                "status": 404,
                "final_url": None,
                "title": None,
                "h1": None,
                "description": None,
                "expires": now - DAY_MS + d * 50_000,
            }
        )
    with engine.begin() as conn:
        conn.execute(
            EVENTS.insert(),
            [
                {"target_id": 1, "at": now - age * DAY_MS, "kind": "text_changed", "detail": "x"}
                for age in (1, 30, 364, 366, 400)
            ],
        )
    run_maintenance(repo, now, retention_days=30, rollup_retention_days=365)
    with engine.connect() as conn:
        expires = [r.expires for r in conn.execute(PROBES.select())]
        ages = sorted((now - r.at) // DAY_MS for r in conn.execute(EVENTS.select()))
    assert expires and all(e > now for e in expires) and len(expires) < 2000
    assert ages == [1, 30, 364]
