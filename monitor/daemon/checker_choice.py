"""Which checker the daemon drives: its own process, or checker processes.

Checker processes pay off only with many targets (AUTO_MIN_TARGETS: an
interpreter costs ~50 MB and ~0.5 CPU-s, and every target crosses a pipe
twice), so the choice counts the database's targets, or on a database not
filled yet the corpus's size, taken from the spawn decision when it walked
the same paths (daemon/prestart.py). The processes themselves: checkers.py.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.exc import SQLAlchemyError

from monitor.check.pool import SupportsCheck
from monitor.check.prestart import BYTES_PER_TARGET, corpus_bytes
from monitor.config import Settings
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.prestart import AUTO_MIN_TARGETS, CORPUS_ENOUGH, Prestarted, processes_for
from monitor.storage.corpus import CorpusStore


async def checker_for(
    settings: Settings,
    repo: CorpusStore,
    prestarted: Prestarted | None = None,
    tls: ssl.SSLContext | None = None,
    *,
    count: Callable[[], Awaitable[int | None]] | None = None,
) -> AbstractAsyncContextManager[SupportsCheck]:
    """The daemon's checker: in-process, or checker processes for many targets
    (adopting the `prestarted` ones, which are let go when not wanted). `tls`:
    the --ca-bundle context the start built already (processes build their own).
    `count`: the database's targets counted (`repo.active_targets`), None when
    a stop cut the count: the daemon checks nothing more, and starts no process."""
    active: int | None = 0
    if settings.workers == 0 and repo.dialect == "sqlite":  # else the count decides nothing
        try:
            active = await (
                count() if count is not None else asyncio.to_thread(repo.active_targets)
            )
        except SQLAlchemyError:  # only a hint: the claims will say what is wrong
            active = 0
        if active is not None and active < AUTO_MIN_TARGETS:  # a corpus not stored yet
            size = prestarted.corpus_bytes(settings.paths) if prestarted is not None else None
            if size is None:  # not walked at the spawn decision (or other paths since)
                size = await asyncio.to_thread(corpus_bytes, settings.paths, CORPUS_ENOUGH)
            active = max(active, size // BYTES_PER_TARGET)
    # None: a stop cut the count; nothing will be checked, so no process is started
    processes = 0 if active is None else processes_for(settings, active, repo.dialect)
    if processes:
        # on SQLite alone (processes_for): its file, no credential, on the command line
        url = settings.database_url()
        return ProcessChecker(settings, processes, probe_db=url, prestarted=prestarted)
    if prestarted is not None:
        prestarted.discard()
    from monitor.http import Checker

    checker = Checker(settings, tls=tls)
    # its checks that have sent nothing leave at a stop (settle.py `unqueue`), as
    # a checker process's do; never for a hold: the in-process gates' holds are
    # waited out (the dispatcher defers a held host's claims: dispatch.py)
    checker.hosts.defer_after = math.inf
    return checker
