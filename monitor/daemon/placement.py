"""Pure: which cluster member checks which host (rendezvous hashing over buckets).

Hosts are hashed into BUCKETS buckets (stored with each target), and each
bucket to the live member with the highest score for it (rendezvous, or
highest-random-weight, hashing): when a member joins or leaves, only the
buckets it gains or loses move, about 1/N of them. One member per host at a
time is what makes the per-host limits cluster-wide with no database round
trip per request (docs/scaling.md). Hashes are blake2b, never Python's
`hash()`, which differs between processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

BUCKETS = 1024


def _h64(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode(), digest_size=8).digest(), "big")


def host_bucket(host: str) -> int:
    """The bucket of a URL's host (lower case, without port or brackets)."""
    return _h64("host:" + host.strip("[]").rstrip(".").lower()) % BUCKETS


def url_bucket(url: str) -> int:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host_bucket(host)


def owner(bucket: int, members: Iterable[str]) -> str | None:
    """The member with the highest score for `bucket` (ties broken by id)."""
    best: tuple[int, str] | None = None
    for m in members:
        score = (_h64(f"{m}/{bucket}"), m)
        if best is None or score > best:
            best = score
    return None if best is None else best[1]


def buckets_of(member: str, members: Iterable[str]) -> frozenset[int]:
    live = sorted(set(members) | {member})
    return frozenset(b for b in range(BUCKETS) if owner(b, live) == member)


def view_of(members: Iterable[str]) -> str:
    """A short digest naming one membership (the same set gives the same view)."""
    joined = ",".join(sorted(set(members)))
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()


def claimable(
    me: str,
    live: Iterable[str],
    views: dict[str, str | None],
    settled: frozenset[str] | None,
) -> tuple[frozenset[int] | None, bool]:
    """The buckets `me` may claim now, and whether the current view is settled.

    Settled: every live member has drained to the current view (no check in
    flight on a bucket it no longer owns). Until then a member keeps only the
    buckets it owned in the last settled membership and still owns, so no
    host is ever checked by two members at once during a handover. None means
    every bucket (a cluster of one: no filter).
    """
    members = sorted(set(live) | {me})
    current = view_of(members)
    is_settled = all(views.get(m) == current for m in members if m != me)
    if len(members) == 1:
        return None, True
    mine = buckets_of(me, members)
    if is_settled:
        return mine, True
    if settled is None:
        return frozenset(), False
    return mine & buckets_of(me, settled), False
