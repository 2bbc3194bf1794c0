"""A time stamped ahead of the daemon's clock (a clock stepped back since, or a
cluster member's clock running ahead) is said as such on the pages: the target page
said "0 s ago" for a check stamped three days ahead, hiding the clock's trouble (its
title holds the instant). The overview's cycle lag, which read the same function, still
reads "0 s behind" when the oldest due check is ahead: the daemon on time."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import update
from support import status_db
from support.status_http import get, running

from monitor.observe.status.pages import age, behind
from monitor.storage.store import RESULTS, TARGETS, now_ms

DAY_MS = 86_400_000


def _shown_times(html: str) -> list[str]:
    return re.findall(r"<time [^>]*>([^<]*)</time>", html)


async def test_a_check_stamped_ahead_is_not_said_to_be_just_now(tmp_path: Path) -> None:
    known = status_db.build(tmp_path / "am.db", n_targets=3)
    ahead = now_ms() + 3 * DAY_MS
    with known.engine.begin() as conn:
        conn.execute(update(TARGETS).where(TARGETS.c.id == 1).values(last_checked_at=ahead))
        conn.execute(
            update(RESULTS)
            .where(RESULTS.c.target_id == 1, RESULTS.c.checked_at == status_db.T0 - 1000)
            .values(checked_at=ahead)
        )
    async with running(known) as srv:
        status, page, _ = await get(srv, "/targets/1")
        assert status == 200, page
        shown = _shown_times(page)
        assert "3 days from now" in shown, shown
        assert "0 s ago" not in shown, shown  # before: the future check read "0 s ago"
        status, listing, _ = await get(srv, "/targets")
        assert "3 days from now" in _shown_times(listing)


def test_age_in_both_directions() -> None:
    now = 1_000_000.0
    at = "1970-01-12T13:46:40.000Z"  # = now
    assert age(at, now) == "0 s ago"
    assert age(at, now + 120) == "2 min ago"
    assert age(at, now - 30) == "0 s ago"  # a little ahead: another member's clock
    assert age(at, now - 120) == "2 min from now"
    assert age(at, now - 3 * 86400) == "3 days from now"
    assert age(None, now) == "never"
    assert behind(at, now - 3600) == "0 s"  # the oldest due check an hour ahead: on time
    assert behind(at, now + 120) == "2 min"
    assert behind(None, now) == "0 s"
