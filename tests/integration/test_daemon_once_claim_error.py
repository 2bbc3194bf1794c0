"""`run --once` whose claims fail: exit 1 saying so, not 0 with nothing checked.

A claim that failed (the database locked beyond the busy timeout, a server
gone) ended the pass when nothing was in flight, and the exit code was 0:
every due target left unchecked, and nothing said so (issue 16's hostile
review). The errors are real SQLite errors.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from test_daemon_database_errors import busy_error, daemon_for, site

from monitor.daemon import once
from monitor.storage.repository import Repository

__all__ = ["site"]  # the loopback site fixture, shared


async def test_run_once_fails_when_its_targets_cannot_be_claimed(
    tmp_path: Path, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = busy_error(tmp_path)

    def claim_due(self: Repository, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("UPDATE due_queue ...", None, busy)

    monkeypatch.setattr(Repository, "claim_due", claim_due)
    # as many tries again, none of their waits (7.6 s in all): the exit is what is judged
    monkeypatch.setattr(once, "ONCE_CLAIM_RETRIES", (0.0,) * len(once.ONCE_CLAIM_RETRIES))
    daemon = daemon_for(tmp_path, site, once=True)
    assert await asyncio.wait_for(daemon.run(), 60) == 1
    assert daemon.failure is not None
    assert "could not be claimed" in daemon.failure and "database is locked" in daemon.failure
