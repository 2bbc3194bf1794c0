"""Retry-After holds for the cluster with checker processes too (docs/scaling.md):
a hold a member's checker process told it is shared with the heartbeat, and a
hold shared by another member holds the host back here. With `workers` set, the
heartbeat had no host pool to read or write, so neither happened: a host handed
over (a member joined or left) was asked again at once by its new member."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from monitor.config import Settings, load_settings
from monitor.daemon.checkers import ProcessChecker, WorkerHolds
from monitor.daemon.cluster import Membership
from monitor.daemon.service import Daemon
from monitor.http import Checker
from monitor.secured.keys import KeyRing
from monitor.storage.repository import Repository


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    return pg_repo


def member(repo: Repository, name: str, holds: WorkerHolds) -> Membership:
    settings = Settings()
    return Membership(repo, lambda: settings, in_flight=list, hosts=lambda: holds, member_id=name)


@pytest.mark.postgres
async def test_a_checker_processs_hold_reaches_the_other_members(repo: Repository) -> None:
    told: dict[str, tuple[float, float]] = {"cdn.test": (time.monotonic() + 30, 30.0)}
    channels: list[Any] = [SimpleNamespace(holds=told)]
    a_holds = WorkerHolds(2, lambda: channels)
    b_holds = WorkerHolds(2, lambda: [SimpleNamespace(holds={})])  # type: ignore[list-item]
    a, b = member(repo, "a", a_holds), member(repo, "b", b_holds)
    await a.beat_once(str)  # type: ignore[arg-type]
    await b.beat_once(str)  # type: ignore[arg-type]
    left, _ = b_holds.refusing()["cdn.test"]
    assert 20 < left <= 30
    assert b_holds.backoff_remaining("cdn.test") > 20
    # the hold ends with its time: nothing held back after it
    b_holds._clock = lambda: time.monotonic() + 31
    assert b_holds.refusing() == {}


@pytest.mark.parametrize("workers", [0, 2])
def test_the_heartbeat_reads_the_checkers_holds(tmp_path: Path, workers: int) -> None:
    """The daemon's heartbeat is given its checker's holds, in-process or in the
    checker processes (it was given none with `workers`). SQLite: no server needed."""
    settings = load_settings(None, {"paths": [tmp_path], "data_dir": tmp_path}, environ={})
    daemon = Daemon(settings, KeyRing.load([]))
    checker = Checker(settings) if workers == 0 else ProcessChecker(settings, workers)
    daemon._checker = checker
    assert daemon.membership._hosts() is checker.hosts
