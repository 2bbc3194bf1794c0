"""A due time beyond the current settings' longest delay that no clock step set:
the jitter lowered (or an interval shortened) while the daemon was stopped. The
start reads it as a possible step and moves it; it was moved to now, so lowering
`interval_jitter` from 0.5 to 0.1 made every target scheduled past 1.1 intervals
due at once (a burst of a fifth of the corpus at the start). It goes to the
latest time the current settings could have set after its last check instead;
one never checked (or checked longer ago than that) is still due now."""

from __future__ import annotations

from sqlalchemy import update
from test_clock_step_back import SETTINGS, checked, schedule
from test_storage import FP, record

from monitor.daemon.clock_step import schedule_bounds
from monitor.storage.repository import DUE, TARGETS, Repository, now_ms
from monitor.vocabulary import Kind


def test_a_lowered_jitter_moves_a_due_time_to_the_latest_the_settings_allow(
    repo: Repository,
) -> None:
    t = now_ms()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, t)
    claims = repo.claim_due(t, 100, 300_000)
    at = t - 600_000  # checked ten minutes ago, before the restart
    repo.record([checked(c, at) for c in claims])
    bounds = schedule_bounds(SETTINGS)
    far: dict[int, int] = {}
    with repo.engine.begin() as conn:  # due 1.4 intervals on (the old jitter of 0.5)
        for tid, (kind, due, _) in schedule(repo).items():
            far[tid] = at + int(1.4 * SETTINGS.interval_for(Kind(kind)) * 1000)
            conn.execute(update(TARGETS).where(TARGETS.c.id == tid).values(next_due=far[tid]))
            conn.execute(
                update(DUE).where(DUE.c.target_id == tid, DUE.c.due == due).values(due=far[tid])
            )
    assert repo.pull_in_page(t, bounds).moved == len(far)
    for tid, (kind, due, checked_at) in schedule(repo).items():
        assert checked_at == at
        assert due == at + bounds[kind], (tid, due - t)  # not t: no burst at the start


def test_a_failing_target_beyond_the_settings_is_due_now(repo: Repository) -> None:
    """Its next check comes sooner than the interval (the retry backoff): the latest
    the settings allow after its last check would hold it back; it is due now."""
    t = now_ms()
    repo.store_document("a.txt", FP, [record("https://n.test/x/", images=0)], 0, t)
    claims = repo.claim_due(t, 100, 300_000)
    at = t - 600_000
    repo.record([checked(c, at) for c in claims])
    bounds = schedule_bounds(SETTINGS)
    with repo.engine.begin() as conn:
        for tid, (kind, due, _) in schedule(repo).items():
            far = at + int(1.4 * SETTINGS.interval_for(Kind(kind)) * 1000)
            conn.execute(update(TARGETS).where(TARGETS.c.id == tid).values(next_due=far, fails=2))
            moved = update(DUE).where(DUE.c.target_id == tid, DUE.c.due == due)
            conn.execute(moved.values(due=far))
    assert repo.pull_in_page(t, bounds).moved == len(claims)
    assert {due for _, due, _ in schedule(repo).values()} == {t}
