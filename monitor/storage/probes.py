"""The soft-404 probe's answers, kept per host and directory until they expire;
and the retention of both tables of issue 15 that grow (answers, target events).

The daemon's checker probes each host and directory at most once a day
(http/probe.py); kept here, the answers outlive a restart, and a host that
answered with a real 404 is left alone until its answer expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, delete, select

from monitor.storage import dialect
from monitor.storage.store import Store
from monitor.storage.tables import metadata

PROBES: Table = metadata.tables["probe_answers"]
EVENTS: Table = metadata.tables["target_events"]
MAX_ANSWERS = 100_000  # as many as the checker keeps in memory
MAX_KEY_BYTES = 2048  # of site and directory: well within a btree entry, compressed or not
_COLUMNS = ("url", "status", "final_url", "title", "h1", "description", "expires")


class ProbeStore(Store):
    """Probe answers: read once at start, written as the checker learns them."""

    def probe_answers(self, now: int) -> list[dict[str, Any]]:
        """The answers that have not expired at `now` (ms), soonest to expire first;
        the expired ones are deleted."""
        with self._write() as conn:
            conn.execute(delete(PROBES).where(PROBES.c.expires <= now))
            rows = conn.execute(select(PROBES).order_by(PROBES.c.expires).limit(MAX_ANSWERS))
            return [dict(r._mapping) for r in rows]

    def purge_probe_answers(self, now: int) -> int:
        """Delete the answers expired at `now` (ms): the directories a daemon probed
        but never meets again (dated paths) would otherwise stay until a restart."""
        with self._write() as conn:
            return max(conn.execute(delete(PROBES).where(PROBES.c.expires <= now)).rowcount, 0)

    def purge_events(self, cutoff_ms: int) -> int:
        """Delete target events older than `cutoff_ms` (the rollups' retention)."""
        with self._write() as conn:
            return max(conn.execute(delete(EVENTS).where(EVENTS.c.at < cutoff_ms)).rowcount, 0)

    def keep_probe_answer(self, row: Mapping[str, Any]) -> None:
        """Store (or replace) one host and directory's answer; one whose key is too
        long for PostgreSQL's index (~8 KB; a URL may have 64 KiB) is not kept, on
        either database: it is probed again after a restart, nothing more."""
        if len(row["site"].encode()) + len(row["directory"].encode()) > MAX_KEY_BYTES:
            return
        with self._write() as conn:
            conn.execute(
                dialect.upsert(self.dialect, PROBES, ["site", "directory"], list(_COLUMNS)),
                dict(row),
            )
