"""Whether a name is itself a public suffix (`com`, `co.uk`, `github.io`): the Public
Suffix List, offline.

A provider domain that is a public suffix names no publisher (anyone can register
under `co.uk` or `github.io`), yet as a parent domain it "matched" every host under
it. The list comes bundled in publicsuffixlist's wheel, ICANN and private sections
alike: nothing is fetched, at run time or in tests (its updater is never called);
a newer list comes with a newer release. The only module that imports it; tested on
publicsuffixlist 0.6.0 (the first that reads punycoded IDN suffixes) to 1.1.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.urls import MAX_HOST

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

__all__ = ["is_public_suffix", "registrable_domain"]


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # imported and parsed on first use (~40 ms of CPU): only a run that checks a
    # provider domain pays for it
    from publicsuffixlist import PublicSuffixList

    try:
        return PublicSuffixList()
    except Exception as exc:
        # its list is a file of its install: one missing or unreadable (a package half
        # installed) is the install's failure, said as one (monitor.install). As an
        # OSError it was the corpus file's: the daemon said "cannot read FILE: no such
        # file or directory" of every corpus file, there all along
        raise ImportError(f"{type(exc).__name__}: {exc}", name="publicsuffixlist") from exc


def is_public_suffix(name: str) -> bool:
    """`name` (lower-case ASCII, punycode for IDN, no trailing dot) is a public suffix.

    An unknown top-level name counts as one (the list's default rule `*`), so a
    single label always does. A name longer than any DNS name is none, and is not
    cached: 4,096 megabyte-long provider domains stayed pinned in the cache.
    """
    return bool(name) and len(name) <= MAX_HOST and _looked_up(name)


@lru_cache(maxsize=4096)
def _looked_up(name: str) -> bool:
    return _suffixes().publicsuffix(name) == name


def registrable_domain(name: str) -> str | None:
    """The shortest name under `name`'s public suffix (`bbc.co.uk` for `www.bbc.co.uk`),
    or None when `name` is itself a public suffix."""
    found = _suffixes().privatesuffix(name) if name else None
    return found if isinstance(found, str) else None
