"""The daemon's start: listen, check and migrate the database, then serve.

Listening first: probes tell a long start from a hung one (observe/starting.py),
and a bad listen address still fails at once. Each long step asks systemd for
more start time while it makes progress (notify.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from monitor.config import ConfigError, Settings
from monitor.daemon.notify import bytes_read, start_extended
from monitor.daemon.unjoined import unjoined
from monitor.http.tls import make_ssl_context
from monitor.observe.endpoints import MetricsServer
from monitor.observe.starting import CHECKING, MIGRATING
from monitor.storage.migrate import upgrade, whole_at_head
from monitor.storage.opening import (
    OpenedFile,
    check,
    refuse_read_only,
    shown_url,
    unusable,
)

if TYPE_CHECKING:
    from monitor.daemon.service import Daemon

log = logging.getLogger("monitor.daemon")


def _uncounted() -> None:
    """No measure of progress: the start is extended for an hour at most."""
    return None


def extended(
    settings: Settings, progress: Callable[[], int | None], phase: str
) -> contextlib.AbstractAsyncContextManager[None]:
    """`run --once` is no service's main process (it never says READY=1): it
    asks no manager for more start time, nor sets a unit's status line."""
    if settings.once:
        return contextlib.nullcontext()
    return start_extended(progress, status=phase)


async def open_daemon(d: Daemon) -> None:
    """Listen, check and migrate the database, then serve every path; raise if
    any cannot. Listening first: probes tell a long start from a hung one
    (observe/starting.py), and a bad listen address still fails at once."""
    s = d.settings
    url = s.database_url()
    if s.ca_bundle is not None:  # a bad bundle is refused before anything starts
        d._tls = make_ssl_context(s.ca_bundle)
    sqlite = d.engine.dialect.name == "sqlite"
    d.starting.begin(CHECKING, bytes_read if sqlite else None)
    if not s.once:
        await serve(d)
    started = time.monotonic()
    # the start timeout is kept while the check reads on (PostgreSQL: an hour at most)
    async with extended(s, bytes_read if sqlite else _uncounted, CHECKING):
        # SQLite: ~1 s per 70 MB; a stop leaves it behind (it only reads), as
        # waiting for it outlasted Kubernetes' grace period (unjoined.py)
        await unjoined(check, d.engine, url, name="database-check")
    d._file = OpenedFile.of(url)  # watched by the checkpoint job
    checked = time.monotonic() - started
    d.starting.begin(MIGRATING)  # progress while it runs, as for systemd
    # ... and while it migrates: a migration waits up to MIGRATION_WAIT_MS for
    # another process's, reading nothing, and ends or fails within it
    async with extended(s, _uncounted, MIGRATING):
        stop = threading.Event()  # a stop (the task cancelled) ends the wait for
        try:  # another process's migration, up to 5 min in a thread asyncio.run joins
            # the schema at its head (every start but a new version's first) only
            # reads: left behind by a stop, as the check is; it waited for as long
            # as a PostgreSQL lock on the version table was held (SIGTERM swallowed)
            if not await unjoined(whole_at_head, d.engine, name="schema-check"):
                await asyncio.to_thread(upgrade, d.engine, stop=stop)
            # a write begun and rolled back: left behind by a stop, as the check is,
            # for it waits up to the URL's ?timeout= (an hour at most) for a lock
            await unjoined(refuse_read_only, d.engine, url, name="write-check")
        except SQLAlchemyError as exc:
            raise unusable(exc, url) from None
        finally:
            stop.set()
    d.starting.done()
    if d.server is not None:
        d.server.serving()
        # gauges: a snapshot in the background; scrapes read the last one
        # its thread, as a scrape's and a status read's, is the stop's to wait for
        d._snapshots = asyncio.create_task(d.metrics.keep_fresh(d.db_threads), name="snapshots")
    log.info("database %s (checked in %.1fs)", shown_url(url), checked)


# what to do next, by the bind's errno (the address and the errno alone left a new user guessing)
_LISTEN_HINTS = {
    errno.EADDRINUSE: (
        " (another process listens there, perhaps another daemon: stop it, or give this one "
        "another address with --listen HOST:PORT or `listen` in the configuration)"
    ),
    errno.EACCES: " (a port below 1024 needs privileges: choose one above 1023 with --listen)",
    errno.EADDRNOTAVAIL: (
        " (no network interface of this machine has that address: use 127.0.0.1 or one of its own)"
    ),
}


async def serve(d: Daemon) -> None:
    """/metrics, /healthz and /readyz, listening before the database is checked."""
    s = d.settings
    d.server = MetricsServer.for_settings(
        d.metrics, d.readiness, s, repo=d.repo, threads=d.db_threads
    )
    d.server.starting = d.starting
    try:
        await d.server.start()
    except (OSError, OverflowError) as exc:
        d.server = None
        code = getattr(exc, "errno", None)
        reason = os.strerror(code) if code else str(exc)
        hint = _LISTEN_HINTS.get(code, "") if code else ""
        raise ConfigError(f"cannot listen on {s.listen}: {reason}{hint}") from None
