"""Page marks and target events: the daemon's own-drift check (issue 15).

The writer hands over each recorded check's text mark (content/simhash.py);
in the same transaction the stored mark (the baseline) is compared with it
(the pure `text_change`). The baseline is replaced only at an event (the
text moved beyond the tolerance under the same title) or at a new title:
edits too small to count one by one add up until they do, and a page that
did not change costs no write. A check without a mark (failed, not a page,
too little text) leaves the baseline as it was.

At most one event per target per EVENT_QUIET_MS: a page that flips between two
texts (an A/B test, a rotating lead) was an event at every check. A change
within the quiet period leaves the baseline as it was, so a change that still
holds when the period ends is reported then.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.sql.dml import Insert

from monitor.content.simhash import (
    from_signed,
    text_change,
    text_change_message,
    to_signed,
)
from monitor.storage import dialect
from monitor.storage.lean import execute_many
from monitor.storage.store import chunks
from monitor.storage.tables import metadata
from monitor.storage.values import CheckRecord

MARKS: Table = metadata.tables["page_marks"]
EVENTS: Table = metadata.tables["target_events"]
TEXT_CHANGED = "text_changed"
EVENT_QUIET_MS = 86_400_000  # one text_changed event per target per day at most


@cache
def _upsert_marks(dialect_name: str) -> Insert:
    """Built once per dialect: storage/lean.py holds statements by identity."""
    return dialect.upsert(dialect_name, MARKS, ["target_id"], ["text_hash", "title_key", "seen_at"])


@cache
def _stored_marks(dialect_name: str) -> Any:
    """The stored marks of :ids, built once per dialect like the queue's (queue_sql.py)."""
    return select(MARKS.c.target_id, MARKS.c.text_hash, MARKS.c.title_key).where(
        dialect.in_ids_param(dialect_name, MARKS.c.target_id)
    )


def record_marks(conn: Connection, dialect_name: str, records: Sequence[CheckRecord]) -> None:
    """Compare and store the text marks of these (held) records; add their events."""
    latest: dict[int, CheckRecord] = {}
    for r in records:
        if r.page is not None:
            latest[r.target_id] = r
    if not latest:
        return
    stored: dict[int, tuple[int, str]] = {}
    for chunk in chunks(sorted(latest)):
        rows: Any = conn.execute(
            _stored_marks(dialect_name), {"ids": dialect.ids_value(dialect_name, chunk)}
        ).all()
        stored.update((tid, (from_signed(h), key)) for tid, h, key in rows)
    changed = {
        tid: d
        for tid, r in latest.items()
        if (old := stored.get(tid)) is not None
        and r.page is not None
        and (d := text_change(old[0], old[1], r.page)) is not None
    }
    last_event = _last_events(conn, sorted(changed))
    events = []
    marks = []
    for tid, r in sorted(latest.items()):
        page = r.page
        assert page is not None
        old = stored.get(tid)
        if old is not None:
            distance = changed.get(tid)
            last = last_event.get(tid)
            # (an event stamped ahead of this check, by a clock since put right, quiets nothing)
            if last is not None and 0 <= r.checked_at - last < EVENT_QUIET_MS:
                continue  # an event within the quiet period: the baseline stays
            if distance is not None:
                events.append(
                    {
                        "target_id": tid,
                        "at": r.checked_at,
                        "kind": TEXT_CHANGED,
                        "detail": text_change_message(distance),
                    }
                )
            elif old[1] == page.title_key:
                continue  # within the tolerance: the baseline stays
        marks.append(
            {
                "target_id": tid,
                "text_hash": to_signed(page.text_hash),
                "title_key": page.title_key,
                "seen_at": r.checked_at,
            }
        )
    if marks:
        execute_many(conn, _upsert_marks(dialect_name), marks)
    if events:
        conn.execute(EVENTS.insert(), events)


def _last_events(conn: Connection, target_ids: list[int]) -> dict[int, int]:
    """When each of these targets' last text_changed event was."""
    out: dict[int, int] = {}
    for chunk in chunks(target_ids):
        rows: Any = conn.execute(
            select(EVENTS.c.target_id, func.max(EVENTS.c.at))
            .where(EVENTS.c.target_id.in_(chunk), EVENTS.c.kind == TEXT_CHANGED)
            .group_by(EVENTS.c.target_id)
        )
        out.update((tid, int(at)) for tid, at in rows if at is not None)
    return out


def target_events(conn: Connection, target_id: int, limit: int) -> list[dict[str, Any]]:
    """A target's events, newest first."""
    rows = conn.execute(
        select(EVENTS.c.at, EVENTS.c.kind, EVENTS.c.detail)
        .where(EVENTS.c.target_id == target_id)
        .order_by(EVENTS.c.at.desc(), EVENTS.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]
