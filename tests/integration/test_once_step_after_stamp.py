"""`run --once` with the clock stepped back between the first scan's stamp and the
pass's cutoff: the scan stored its targets due at the stamp, the cutoff came out
below it, and the pass claimed none of them; it ended "drained" with exit 0 and
the new corpus unchecked. The targets a pass's own scans stored are due in it:
its cutoff is never below their stamp."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_daemon_database_errors import daemon_for, site

from monitor.storage.repository import RESULTS, now_ms

__all__ = ["site"]  # the loopback site fixture, shared

DAY = 86_400_000


async def test_a_step_back_after_the_first_scans_stamp_leaves_nothing_unchecked(
    tmp_path: Path, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = daemon_for(tmp_path, site, once=True)
    t0 = now_ms()
    stepped = False

    def clock() -> int:  # the cluster's clock (SQLite: this machine's), set back a day
        return t0 - DAY if stepped else t0

    monkeypatch.setattr(daemon.membership, "now", clock)
    monkeypatch.setattr(daemon.dispatcher, "_clock", clock)  # bound at its making
    run_once = daemon.dispatcher.run_once

    async def after_the_scan(scanning: asyncio.Task[None] | None = None, **kw: Any) -> None:
        nonlocal stepped
        if scanning is not None:  # the step comes once the scan stored its stamp
            await asyncio.gather(scanning, return_exceptions=True)
        stepped = True
        await run_once(scanning, **kw)

    monkeypatch.setattr(daemon.dispatcher, "run_once", after_the_scan)
    assert await asyncio.wait_for(daemon.run(), 60) == 0, daemon.failure
    with daemon.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RESULTS)) == 1
