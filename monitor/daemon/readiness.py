"""Pure: /readyz's verdict from what the daemon knows about its own health.

Ready means the daemon is doing its job: the database answers and is not
damaged, the scheduler runs, and results, claims and the corpus are being
recorded. A failure that persists (a write, a claim, a rescan that cannot
record the corpus) makes it not ready until it clears; the detail says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Health:
    database_error: str | None = None  # the ping failed
    damaged: str | None = None  # the database was found damaged: the daemon is stopping
    scheduler_running: bool = True
    writer_error: str | None = None  # the last commit failed (None: healthy)
    claim_error: str | None = None
    scan_error: str | None = None
    backlog: int = 0
    in_flight: int = 0
    corpus_problems: tuple[str, ...] | None = None  # None: not scanned yet
    corpus_by_leader: bool = False  # a shared corpus another member (the leader) scans
    cluster: dict[str, Any] | None = None  # this member, the live members, the leader
    stuck: str | None = None  # this member holds claims and records nothing (cluster.py)
    checkers: str | None = None  # the checker processes fail repeatedly (checker_deaths.py)


def judge(h: Health) -> tuple[bool, dict[str, Any]]:
    """(ready, detail) as /readyz shows them."""
    detail: dict[str, Any] = {}
    if h.damaged is not None:
        detail["database"] = f"damaged: {h.damaged}"
    elif h.database_error is not None:
        detail["database"] = f"unreachable: {h.database_error}"
    else:
        detail["database"] = "ok"
    detail["scheduler"] = "running" if h.scheduler_running else "stopped"
    detail["writer"] = "ok" if h.writer_error is None else f"failing: {h.writer_error}"
    if h.claim_error is not None:
        detail["claims"] = f"failing: {h.claim_error}"
    if h.scan_error is not None:
        detail["scan"] = f"cannot record the corpus: {h.scan_error}"
    detail["backlog"] = h.backlog
    detail["in_flight"] = h.in_flight
    if h.corpus_by_leader:
        detail["corpus"] = ["scanned by the cluster's leader (corpus_shared)"]
    else:
        detail["corpus"] = (
            list(h.corpus_problems) if h.corpus_problems is not None else ["not scanned yet"]
        )
    if h.cluster is not None:
        detail["cluster"] = h.cluster
    if h.stuck is not None:
        detail["progress"] = f"stuck: {h.stuck}"
    if h.checkers is not None:  # said, not unready: the other processes check on
        detail["checkers"] = f"failing: {h.checkers}"
    ready = (
        h.damaged is None
        and h.database_error is None
        and h.scheduler_running
        and h.writer_error is None
        and h.claim_error is None
        and h.scan_error is None
        and h.stuck is None
    )
    return ready, detail
