"""Which checker owns a host: every URL of a host goes to one process.

Politeness (a host's concurrency limit, interval and backoff) lives in one
process, so `check --workers N` and the daemon's checker processes split
their targets by host, with a hash that is the same in every process.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from urllib.parse import urlsplit

from monitor.urls import host_key


def _host_hash(url: str) -> int:
    """A stable number for `url`'s host (crc32, not hash(): the same in every process)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("http", "https"):  # one parse per authority, cached
        return _authority_hash(rest.partition("/")[0].partition("?")[0].partition("#")[0])
    return _authority_hash(None, url)


@lru_cache(maxsize=4096)
def _authority_hash(authority: str | None, url: str = "") -> int:
    try:
        host = (urlsplit(url if authority is None else "//" + authority).hostname or "").lower()
    except ValueError:
        host = ""
    # the engine's per-host gate's own key: every spelling of a host (case, a
    # trailing dot, Unicode or punycode, IPv6 forms) goes to one checker
    return zlib.crc32(host_key(host).encode("utf-8", "surrogatepass"))


# The parent also reads the corpus (before it starts checking), assembles
# and writes the report, so its share of the hosts is smaller than a
# worker's: with --workers 2 it checks ~0.75/1.75 of the hosts, the worker
# 1/1.75. Measured on the benchmark corpus (bench/tree_rss.py, interleaved
# runs): wall 14.4 s median at 0.75 against 16.8 s at 0.6, once a check's
# own CPU had fallen (the worker's start-up and pipe weigh more).
PARENT_WEIGHT = 0.75


def host_owner(url: str, children: int, *, parent_weight: float = PARENT_WEIGHT) -> int:
    """Who checks `url`'s host: -1 for the parent, else the child's index.

    Every URL of a host goes to the same one (politeness lives in one
    process); `children == 0` means the parent checks everything.
    """
    if children == 0:
        return -1
    slot = _host_hash(url) % 1000
    cut = int(1000 * parent_weight / (parent_weight + children))
    return -1 if slot < cut else (slot - cut) % children
