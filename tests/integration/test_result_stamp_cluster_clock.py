"""A cluster member's results are stamped on the cluster's clock (the database's).

A member whose own clock ran a year behind the database stamped its results a
year back: the next maintenance (which counts back from the database's clock)
deleted every one of them, and none was rolled up; one a year ahead filled the
default partition with results `history` listed first for a year. Due times,
leases and the corpus were already on the cluster's clock; the check's own
time is moved by the offset the heartbeat measures (0 on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.daemon.state import TargetState
from monitor.secured.keys import KeyRing
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

YEAR_MS = 365 * 86_400_000


def test_a_member_a_year_behind_the_database_stamps_its_results_on_the_database_clock(
    tmp_path: Path,
) -> None:
    values = {"paths": [tmp_path], "data_dir": tmp_path / "data"}
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    try:
        # as sync_clock measures it on PostgreSQL: the database a year ahead of us
        daemon.membership.offset_ms = YEAR_MS
        own = datetime.now(UTC)
        claim = Claimed(1, "https://n.test/a/", Kind.WEB, TargetState(), 1, ())
        daemon._finish(claim, CheckResult(claim.url, Kind.WEB, Outcome.OK, own, http_status=200))
        (record,) = daemon.writer._incoming
        assert record.checked_at == int(own.timestamp() * 1000) + YEAR_MS
    finally:
        daemon.engine.dispose()
