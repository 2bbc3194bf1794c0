"""`exclude_urls`: the operator's patterns for URLs that are never requested.

One rule, one place: the settings check each pattern with `pattern_problem`
(an invalid one is a configuration error, at the start and at a reload), and
the audit (monitor/rules/audit.py) leaves out every target whose URL one of
them matches, for `check` and the daemon alike.

A pattern is a Python `re` expression, matched with `search` against the URL
as the corpus writes it (not normalised: `^https?://ads\\.` is anchored at the
scheme the record spells). Python's `re` has no timeout, so the patterns are
compiled once per set and tried one after the other: for ten patterns that
match nothing (every one tried) a loop over the list measured ~2.9 µs per
90-character URL against ~6.3 µs for one alternation of them (which also
breaks on a pattern's own `(?i)` and shifts its group numbers). With none the
audit does not call this at all (bench/exclude_urls.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from monitor.text_clip import clip


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable regular expression (naming it, cut to a
    line), or None. An empty pattern is one: it matches every URL (an unset
    variable passed as `--exclude-url "$VAR"`, a `[""]`), and would leave
    every target out with no error."""
    if not pattern:
        return "an empty pattern matches every URL: give what to leave out"
    try:
        re.compile(pattern)
    except re.error as exc:
        why = str(exc)
    except (RecursionError, OverflowError, ValueError) as exc:  # nested too deep, too big
        why = str(exc) or type(exc).__name__
    else:
        return None
    return f"pattern {clip(pattern, 80)!r} is not a valid regular expression: {why}"


@dataclass(frozen=True, slots=True)
class UrlExclusion:
    """Compiled `exclude_urls`; falsy when there are none (nothing to try)."""

    compiled: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.compiled)

    def excludes(self, url: str) -> bool:
        """Whether a pattern matches somewhere in `url` (re.search)."""
        for pattern in self.compiled:
            if pattern.search(url) is not None:
                return True
        return False


NONE = UrlExclusion()


@cache
def _leading_any() -> re.Pattern[str]:
    """Global inline flags, then a leading `.*` or `.*?` (greedy or lazy; not the
    possessive `.*+`, which matches differently). Compiled at the first
    exclusion, not at import (issue 16)."""
    return re.compile(r"\A((?:\(\?[aiLmsux]+\))*)(?:\.\*\??)+(?![+?*{])")


def searched_form(pattern: str) -> str:
    """`pattern` as it is searched: a leading `.*` (or `.*?`) dropped, after any
    global flags. re.search finds the rest wherever it is, so a URL matches the
    one iff it matches the other; but the search tried the `.*` from every
    position of the URL, each running to its end: quadratic in its length, so
    '(?i).*doubleclick' (the docs' `(?i)`, a habit of `.*`) took 39 s, and
    '.*?doubleclick' 30 s, on one 65,000-character URL a record may hold."""
    stripped = _leading_any().sub(r"\1", pattern, count=1)
    if stripped == pattern:
        return pattern
    try:
        re.compile(stripped)
    except (re.error, RecursionError, OverflowError, ValueError):
        return pattern
    return stripped


@lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> UrlExclusion:
    return UrlExclusion(tuple(re.compile(searched_form(p)) for p in patterns))


def url_exclusion(patterns: Sequence[str]) -> UrlExclusion:
    """The patterns compiled, once per distinct set (every file of a daemon's
    scan asks for the same set). They are valid: the settings checked them."""
    return _compiled(tuple(patterns)) if patterns else NONE
