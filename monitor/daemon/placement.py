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
from functools import lru_cache
from urllib.parse import urlsplit

from monitor.urls import host_key

BUCKETS = 1024


def _h64(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=4096)  # hosts repeat: every target's bucket is written at each corpus write
def host_bucket(host: str) -> int:
    """The bucket of a URL's host, in any spelling: keyed by `urls.host_key`, as the
    per-host limits are, so two spellings of one host are one member's."""
    return _h64("host:" + host_key(host)) % BUCKETS


def url_bucket(url: str) -> int:
    """The bucket of `url`'s host as `urlsplit(url).hostname` reads it."""
    host = _plain_host(url)
    if host is not None:
        return host_bucket(host)
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host_bucket(host)


def _plain_host(url: str) -> str | None:
    """The host of an http(s) URL of printable ASCII without credentials or
    brackets, read without `urlsplit` (its general parse was a tenth of the
    corpus write's CPU, issue 16); None for any other URL. Its netloc then
    runs from after `//` to the first `/`, `?` or `#`, and its host to the
    port's `:` (tests/unit/test_placement.py holds it to `urlsplit`)."""
    if not url.startswith(("http://", "https://")) or not (url.isascii() and url.isprintable()):
        return None
    start = url.index("//") + 2
    end = len(url)
    for sep in "/?#":
        at = url.find(sep, start, end)
        if at >= 0:
            end = at
    netloc = url[start:end]
    if " " in netloc or "@" in netloc or "[" in netloc or "]" in netloc:
        return None
    return netloc.partition(":")[0].lower()


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


def share(member: str, owners: Iterable[str]) -> frozenset[int]:
    """The buckets `member` owns among `owners`: none when it is not one of them."""
    owners = set(owners)
    return buckets_of(member, owners) if member in owners else frozenset()


def owners_of(live: Iterable[str], out: Iterable[str]) -> frozenset[str]:
    """The members that own buckets: the live ones not placed out (stuck), or every
    live one when all are out (their hosts are better checked slowly than never)."""
    everyone = frozenset(live)
    return everyone - frozenset(out) or everyone


def view_of(members: Iterable[str]) -> str:
    """A short digest naming one membership (the same set gives the same view)."""
    joined = ",".join(sorted(set(members)))
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()


def claimable(
    me: str,
    live: Iterable[str],
    views: dict[str, str | None],
    settled: frozenset[str] | None,
    out: Iterable[str] = (),
) -> tuple[frozenset[int] | None, bool]:
    """The buckets `me` may claim now, and whether the current view is settled.

    The buckets are placed on the owners: the live members but those placed
    `out` (stuck: they hold claims and record no result). Settled: every live
    member, owner or not, has drained to the current view (no check in flight
    on a bucket it does not own in it). Until then a member keeps only the
    buckets it owned in the last settled view and still owns, so no host is
    ever checked by two members at once during a handover. None means every
    bucket (a cluster of one: no filter).
    """
    members = sorted(set(live) | {me})
    owners = owners_of(members, out)
    current = view_of(owners)
    is_settled = all(views.get(m) == current for m in members if m != me)
    if len(members) == 1:
        return None, True
    mine = share(me, owners)
    if is_settled:
        return mine, True
    if settled is None:
        return frozenset(), False
    return mine & share(me, settled), False
