"""A clock stepped back during a long first scan: the files stored after the step
were stamped with the pass's start (from before it), so their targets were due
the whole step late, and stored after the heartbeat's walks had passed. The pass
now re-reads the clock per file, lowering its stamp after a step, and the due
queue is walked once more after a pass that saw one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from test_clock_step_back import SETTINGS, member, schedule

from monitor.config import load_settings
from monitor.daemon.clock_step import schedule_bounds
from monitor.daemon.scan import CorpusScanner
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DUE, Repository, now_ms

DAY = 86_400_000


def doc(n: int) -> str:
    return f'---\nwebUrl: "https://news{n}.example.com/a"\ntitle: "t"\n---\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for n in range(4):
        (root / f"{n}.txt").write_text(doc(n))
    return root


def dues(repo: Repository) -> list[int]:
    with repo.engine.connect() as conn:
        return sorted(conn.scalars(select(DUE.c.due)))


def test_files_stored_after_a_step_back_are_stamped_on_the_clock_set_right(
    scanner: CorpusScanner,
) -> None:
    t0 = now_ms()
    readings = iter([t0, t0])  # the pass's start and its first file; then set back

    def clock() -> int:
        return next(readings, t0 - DAY)

    report = scanner.scan(clock=clock)
    stamps = dues(scanner.repo)
    assert len(stamps) == 4
    assert stamps.count(t0) == 1 and stamps.count(t0 - DAY) == 3, stamps
    assert report.clock_back


def test_a_pass_without_a_step_stamps_everything_at_its_start(scanner: CorpusScanner) -> None:
    """`run --once` takes its cutoff after the pass's start: nothing it stores is later."""
    t0 = now_ms()
    ticks = iter(range(t0, t0 + 100))
    report = scanner.scan(clock=lambda: next(ticks))
    assert dues(scanner.repo) == [t0] * 4
    assert not report.clock_back


def test_a_walk_is_asked_for_after_a_pass_that_saw_a_step(scanner: CorpusScanner) -> None:
    """What the pass stored with the stamp from before the step (a file in flight
    while the heartbeat walked) is pulled in by one more walk."""
    repo = scanner.repo
    t0 = now_ms()
    clock = [t0]
    m = member(repo, clock)
    m.beat({})  # the step seen and walked (nothing stored yet)
    scanner.scan(now=t0 + DAY, clock=lambda: t0 + DAY)  # the file in flight, stamped before
    m.beat({})
    assert dues(repo) == [t0 + DAY] * 4  # no step seen now: nothing moved
    m.walk_again()
    m.beat({})
    bounds = schedule_bounds(SETTINGS)
    assert all(due <= clock[0] + bounds[k] for k, due, _ in schedule(repo).values())


async def test_the_daemon_walks_again_after_a_rescan_that_saw_a_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's rescan reads the cluster's clock per file and hands a pass that
    saw a step to the heartbeat's walk."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"{n}.txt").write_text(doc(n))
    (tmp_path / "data").mkdir()
    settings = load_settings(None, {"paths": [corpus], "data_dir": tmp_path / "data"}, environ={})
    daemon = Daemon(settings, KeyRing.load([]))
    t0 = now_ms()
    readings = iter([t0, t0, t0])  # the rescan's stamp, the pass's start, its first file

    def clock() -> int:
        return next(readings, t0 - DAY)

    walks: list[bool] = []
    monkeypatch.setattr(daemon.membership, "now", clock)
    monkeypatch.setattr(daemon.membership, "walk_again", lambda: walks.append(True))
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        assert sorted(set(dues(daemon.repo))) == [t0 - DAY, t0]
        assert walks == [True]
    finally:
        daemon.engine.dispose()
