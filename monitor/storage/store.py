"""What every part of the repository shares: the tables, the write transaction, health.

Every write is one short transaction that starts with a write statement, so
SQLite never has to upgrade a read lock (the source of spurious "database is
locked" errors). Dialect-specific SQL lives in `dialect.py`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    text,
)

from monitor.daemon.state import State
from monitor.storage.engine import WAL_AUTOCHECKPOINT_PAGES, WRITE_OPTION
from monitor.storage.tables import metadata
from monitor.storage.turns import write_connection
from monitor.vocabulary import Kind, Origin

log = logging.getLogger(__name__)

# WAL pages a checkpoint could not copy back beyond which a reader is holding it up
# (the automatic checkpoint would have run twice over): said in the log.
WAL_STUCK_PAGES = 2 * WAL_AUTOCHECKPOINT_PAGES

DOCUMENTS: Table = metadata.tables["documents"]
ARTICLES: Table = metadata.tables["articles"]
TARGETS: Table = metadata.tables["targets"]
DUE: Table = metadata.tables["due_queue"]
LEASES: Table = metadata.tables["leases"]
LINKS: Table = metadata.tables["article_targets"]
RESULTS: Table = metadata.tables["check_results"]
TRANSITIONS: Table = metadata.tables["transitions"]
SIGNATURES: Table = metadata.tables["signature_verifications"]
ROLLUPS: Table = metadata.tables["rollups"]
META: Table = metadata.tables["meta"]

DAY_MS = 86_400_000
LAST_CHECK_KEY = "last_check_ms"
_CHUNK = 500


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def joined_codes(codes: Iterable[str]) -> str:
    return " ".join(sorted(set(codes)))


KIND_OF = {k.value: k for k in Kind}
STATE_OF = {s.value: s for s in State}
ORIGIN_OF = {o.value: o for o in Origin}
LINK_COLUMNS = (
    LINKS.c.article_id,
    LINKS.c.path,
    LINKS.c.kind.label("link_kind"),
    LINKS.c.origin,
    LINKS.c.exp_canonical,
    LINKS.c.exp_amphtml,
    LINKS.c.exp_width,
    LINKS.c.exp_height,
    LINKS.c.exp_title,
    LINKS.c.exp_excerpt,
)


class Store:
    """The engine and its write transaction; the repository's parts build on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._wal_held = False

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (on SQLite: BEGIN IMMEDIATE, in this process's
        writers' turn (turns.py), so only other processes' waits use the busy timeout)."""
        with write_connection(self.engine) as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    # -- health

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def checkpoint(self) -> int:
        """SQLite: copy the WAL back into the database file without blocking anyone;
        the WAL pages left behind (0 on PostgreSQL). A reader holding one transaction
        open keeps them there and the WAL grows until it ends: said once in the log
        while it lasts, and once when it is over."""
        if self.dialect != "sqlite":
            return 0
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        left = max(int(row[1]) - int(row[2]), 0)
        held = left > WAL_STUCK_PAGES
        if held and not self._wal_held:
            log.warning(
                "the WAL cannot be checkpointed: %d pages wait behind a long read "
                "transaction on the database (a held `sqlite3` shell or a slow reader?); "
                "it grows until that ends",
                left,
            )
        elif self._wal_held and not held:
            log.info("the WAL is checkpointed again")
        self._wal_held = held
        return left
