"""History survives a daemon restarted with its clock still far ahead (SQLite),
and retention counts on from the honest time across a long stop in one boot.

The daemon's start took the newest result stored for the honest time. A daemon
whose clock had jumped a year ahead had stamped its results there: restarted
with the clock still ahead, the next maintenance purged every real result,
rollup and event. And a daemon stopped for days kept that many more days of
results until its next restart. The honest time is now stored at the
maintenance beat with the boot it was read in (wall_mark.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from test_retention_wrong_clock import YEAR, an_event_and_a_rollup, checked_at, history
from test_storage import done

from monitor.config import load_settings
from monitor.daemon import cluster as cluster_module
from monitor.daemon import maintenance as maintenance_module
from monitor.daemon import wall_mark
from monitor.daemon.maintenance import WallSince
from monitor.daemon.service import Daemon
from monitor.daemon.state import TargetState
from monitor.secured.keys import KeyRing
from monitor.storage import cluster as storage_cluster
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, now_ms
from monitor.storage.retention import RetentionStore
from monitor.vocabulary import Outcome

HOUR = 3_600_000


class Machine:
    """The clocks a daemon reads: the wall clock (settable), the boot and its
    steady clock (CLOCK_BOOTTIME, seconds)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, wall: int) -> None:
        self._mp = monkeypatch
        self.steady = 1000.0
        self.boot = str(uuid.uuid4())
        monkeypatch.setattr(maintenance_module, "_steady", lambda: self.steady)
        monkeypatch.setattr(wall_mark, "boot_id", lambda: self.boot)
        self.set_wall(wall)

    def set_wall(self, wall: int) -> None:
        for module in (cluster_module, storage_cluster, maintenance_module):
            self._mp.setattr(module, "now_ms", lambda: wall)

    def wait(self, ms: int, *, wall: int) -> None:
        """`ms` pass on the steady clock; the wall clock then reads `wall`."""
        self.steady += ms / 1000
        self.set_wall(wall)

    def reboot(self, *, wall: int) -> None:
        self.boot, self.steady = str(uuid.uuid4()), 5.0
        self.set_wall(wall)


def start(tmp_path: Path) -> Daemon:
    """A daemon on the SQLite file in `tmp_path`, started as run() does (the
    database migrated, then the honest time read before anything is recorded)."""
    values = {"paths": [tmp_path], "data_dir": tmp_path / "data", "retention_days": 30}
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    upgrade(daemon.engine)
    daemon._wall = WallSince.at_start(daemon.repo)
    return daemon


def check_and_maintain(daemon: Daemon, at: int) -> None:
    """The daemon checks its target at `at` (its clock), then its maintenance runs."""
    up = TargetState()
    claim = daemon.repo.claim_due(at, 1, 1000)[0]
    daemon.repo.record([done(claim.id, claim.lease, at, Outcome.OK, up, up)])
    daemon.membership.beat({})  # the leader: it runs the maintenance
    asyncio.run(daemon.maintenance())


def a_year_ahead_then_restart(
    tmp_path: Path, machine: Machine, *, reboot: bool
) -> tuple[list[int], list[int]]:
    """40 days of history (an event and a rollup 100 days old); the clock jumps a
    year ahead while the daemon runs; it checks and maintains there, stops, and is
    started again an hour later (after a reboot or not) with the clock still ahead.
    Returns the real results' times and the results' times left."""
    t = machine_t = now_ms()
    machine.set_wall(machine_t)
    daemon = start(tmp_path)
    days = [t - 40 * DAY_MS, t - 29 * DAY_MS, t - DAY_MS, t]
    try:
        target = checked_at(daemon.repo, *days)
        an_event_and_a_rollup(daemon.repo, target, t - 100 * DAY_MS)
        machine.wait(60_000, wall=t + YEAR)  # the jump
        check_and_maintain(daemon, t + YEAR)
    finally:
        daemon.engine.dispose()
    if reboot:
        machine.reboot(wall=t + YEAR + HOUR)
    else:
        machine.wait(HOUR, wall=t + YEAR + HOUR)
    daemon = start(tmp_path)
    try:
        check_and_maintain(daemon, t + YEAR + HOUR)
        results, rollups, events = history(daemon.repo)
        assert rollups >= 1 and events == 1
    finally:
        daemon.engine.dispose()
    return days, results


def test_a_restart_with_the_clock_still_a_year_ahead_purges_no_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    machine = Machine(monkeypatch, now_ms())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        days, results = a_year_ahead_then_restart(tmp_path, machine, reboot=False)
    t = days[-1]
    # only what was 30 days past the real time went; what was stamped ahead stays
    assert results == [*days[1:], t + YEAR, t + YEAR + HOUR]
    said = [r.getMessage() for r in caplog.records]
    assert sum("the honest time stored before this start" in m for m in said) == 1, said


def test_a_restart_after_a_reboot_with_the_clock_still_ahead_purges_a_day_at_most(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """How long the machine was down is unknown: retention counts from the last
    honest time stored plus at most a day of the clock, and says so once. Only
    the result within a day of the retention's edge (29 days old) goes early."""
    machine = Machine(monkeypatch, now_ms())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        days, results = a_year_ahead_then_restart(tmp_path, machine, reboot=True)
    t = days[-1]
    assert results == [*days[2:], t + YEAR, t + YEAR + HOUR]
    said = [r.getMessage() for r in caplog.records]
    assert sum("the last known honest time" in m and "restarted" in m for m in said) == 1, said


def test_a_restart_in_the_same_boot_after_days_counts_from_the_honest_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped ten days, restarted in the same boot with a right clock: the results
    over 30 days old by it go at the first maintenance. The bound started at the
    newest result (ten days back) and kept them until a further restart."""
    t = now_ms()
    machine = Machine(monkeypatch, t)
    daemon = start(tmp_path)
    kept = [t - 10 * DAY_MS, t]
    try:
        checked_at(daemon.repo, t - 25 * DAY_MS, *kept)
        check_and_maintain(daemon, t + 60_000)
    finally:
        daemon.engine.dispose()
    later = t + 10 * DAY_MS
    machine.wait(10 * DAY_MS, wall=later)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        daemon = start(tmp_path)
        try:
            check_and_maintain(daemon, later)
            assert history(daemon.repo)[0] == [*kept, t + 60_000, later]
        finally:
            daemon.engine.dispose()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not said, said  # (info lines are captured too when another test set the level)


def test_nightly_reboots_keep_no_more_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A machine off for eight hours a night, its clock right: each restart after a
    reboot counts from the clock, not from the last mark, so the nights are not
    kept on top of the retention (counting from the mark alone added eight hours
    a day for good)."""
    t = now_ms()
    machine = Machine(monkeypatch, t)
    night = 8 * HOUR
    daemon = start(tmp_path)
    try:
        checked_at(daemon.repo, t - 30 * DAY_MS + 5 * HOUR, t)
        check_and_maintain(daemon, t + 60_000)
    finally:
        daemon.engine.dispose()
    wall = t + 60_000
    for _ in range(3):  # three nights off, a minute's run each day
        wall += night
        machine.reboot(wall=wall)
        daemon = start(tmp_path)
        try:
            check_and_maintain(daemon, wall)
        finally:
            daemon.engine.dispose()
    # 30 days less 5 hours old at first, 29 hours older now: gone
    assert history(daemon.repo)[0][0] == t
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not said, said  # (info lines are captured too when another test set the level)


def test_a_mark_that_cannot_be_stored_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed write of the honest time is said once; the start and the
    maintenance go on (the next start counts from an older mark, or as before)."""
    t = now_ms()
    machine = Machine(monkeypatch, t)
    real_set_meta = RetentionStore.set_meta

    def locked(self: RetentionStore, key: str, value: str) -> None:
        if key == wall_mark.WALL_MARK:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real_set_meta(self, key, value)

    monkeypatch.setattr(RetentionStore, "set_meta", locked)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        daemon = start(tmp_path)
        try:
            checked_at(daemon.repo, t - 40 * DAY_MS, t)
            machine.wait(120_000, wall=t + 120_000)
            check_and_maintain(daemon, t + 120_000)
            assert history(daemon.repo)[0] == [t, t + 120_000]
            assert daemon.repo.get_meta(wall_mark.WALL_MARK) is None
        finally:
            daemon.engine.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert sum("cannot store the honest time" in m for m in said) == 1, said
    assert not any("[SQL:" in m for m in said), said  # the error's first line only


def test_a_mark_written_by_hand_counts_as_no_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Unreadable: said, and the start counts from the newest result stored, as the
    first start of this version does; the mark is then written right."""
    t = now_ms()
    machine = Machine(monkeypatch, t + 5 * DAY_MS)
    daemon = start(tmp_path)
    try:
        checked_at(daemon.repo, t)
        daemon.repo.set_meta(wall_mark.WALL_MARK, "1" * 400)
    finally:
        daemon.engine.dispose()
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        daemon = start(tmp_path)
    try:
        assert daemon._wall.now() == t
        stored = wall_mark.decode(daemon.repo.get_meta(wall_mark.WALL_MARK))
        assert stored == wall_mark.Mark(t, machine.boot, int(machine.steady * 1000))
    finally:
        daemon.engine.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert sum("honest time stored is unreadable" in m for m in said) == 1, said
