"""The process's file-descriptor budget for the endpoints' connections: raise the
soft open-files limit, and lower the guard's connection limit if even that
cannot hold every connection it would admit beside the checks and files."""

from __future__ import annotations

import logging
import resource
from dataclasses import replace

from monitor.observe.guard import ConnectionLimits

log = logging.getLogger(__name__)

FD_RESERVE = 64  # database pool, corpus files being read, logs, the event loop, threads
MIN_CONNECTIONS = 4  # however short the limit, a probe can still get in


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; return the soft limit now.

    The soft limit is often 1,024 (systemd, most shells) while the hard one is
    far higher. The process uses epoll, never select(), so descriptors beyond
    1,024 are safe, and raising the soft limit is the designed way to use
    them (Go's runtime does the same at start).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    return soft if soft != resource.RLIM_INFINITY else 1 << 30


def fit_to_fd_limit(limits: ConnectionLimits, soft: int, others: int) -> ConnectionLimits:
    """`limits` with `max_connections` lowered, if need be, so that the
    connections, two accept batches (asyncio accepts up to `backlog` sockets
    before any reaches the guard, and the sockets the guard evicts close only
    on the loop's next turn, so under load a second batch can arrive first:
    seen twice as EMFILE in the flood test on a busy machine) and `others` (the
    checks' sockets and FD_RESERVE) fit under the open-files limit `soft`."""
    room = soft - others - 2 * limits.backlog
    if room >= limits.max_connections:
        return limits
    return replace(limits, max_connections=max(MIN_CONNECTIONS, room))
