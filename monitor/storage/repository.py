"""One repository interface over SQLite and PostgreSQL (SQLAlchemy Core).

The repository is assembled from parts named for what they own: `queue`
(claims and results), `corpus` (documents, articles, targets), `retention`
(purges, rollups, metadata), `schedule` (due times that a clock stepped back
left too far ahead), `reads` (metrics snapshot, status, history),
`listing` (the status API's pages of targets, one target, one article) and
`availability` (a target's share of up checks over 24 h, 7 d and 30 d), all
on `store.Store` (tables, write transactions, health). The values it takes
and gives are in `values`.
"""

from __future__ import annotations

from monitor.storage.availability import AvailabilityStore
from monitor.storage.cluster import ClusterStore
from monitor.storage.corpus import CorpusStore
from monitor.storage.listing import Listing
from monitor.storage.probes import ProbeStore
from monitor.storage.queue import QueueStore
from monitor.storage.reads import Reads
from monitor.storage.retention import RetentionStore
from monitor.storage.schedule import ScheduleStore
from monitor.storage.store import (
    ARTICLES,
    DAY_MS,
    DOCUMENTS,
    DUE,
    LAST_CHECK_KEY,
    LEASES,
    LINKS,
    META,
    RESULTS,
    ROLLUPS,
    SIGNATURES,
    TARGETS,
    TRANSITIONS,
    now_ms,
)
from monitor.storage.values import ArticleRecord, CheckRecord, Claimed, Fingerprint, Snapshot

__all__ = [
    "ARTICLES",
    "DAY_MS",
    "DOCUMENTS",
    "DUE",
    "LAST_CHECK_KEY",
    "LEASES",
    "LINKS",
    "META",
    "RESULTS",
    "ROLLUPS",
    "SIGNATURES",
    "TARGETS",
    "TRANSITIONS",
    "ArticleRecord",
    "CheckRecord",
    "Claimed",
    "Fingerprint",
    "Repository",
    "Snapshot",
    "now_ms",
]


class Repository(
    QueueStore,
    CorpusStore,
    RetentionStore,
    ScheduleStore,
    Reads,
    Listing,
    ClusterStore,
    ProbeStore,
    AvailabilityStore,
):
    """The daemon's and the CLI's one way into the database."""
