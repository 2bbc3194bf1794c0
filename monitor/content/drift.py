"""Pure: whether a page that answers is still the record's article, and where a
deep link's redirects ended.

`content_drift`: the page's titles (title, og:title, first <h1>) share too
little with the record's `title`, and its description too little with the
record's `excerpt` (when both exist); or the page says its domain is parked.
A page with no title-like text is never drift: a JS-only page with an empty
<title> has simply not said what it is; nor is a bot check or consent wall
("Just a moment...") standing in front of the page.

`redirect_to_root`: a deep link whose redirects end at a site root or a
generic landing page (`/`, `/index.html`, `/home`, a locale root `/en/`). A
link whose path is a landing page's is deep when its query names a page
(`/?p=123`, `/index.php?id=55`) and the redirects dropped that query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from monitor.content.fingerprint import (
    MAX_TEXT,
    holds_title,
    is_parked,
    share_a_script,
    shown,
    similarity,
)
from monitor.vocabulary import ContentFacts, Problem, ProblemCode, Redirect

# Chosen on bench/drift_labels.py's labelled set (see its docstring for the figures).
DEFAULT_THRESHOLD = 0.3
# A description shares a few common words with almost any other by chance: only
# one that holds half the excerpt's words (or the other's) says "the same story".
DESCRIPTION_MATCH = 0.6
DESCRIPTION_FLOOR = 6  # a one-line description weighs as six words: two shared are not half


@dataclass(frozen=True, slots=True)
class PageRules:
    """Which page checks run, and how similar a title must stay (0..1)."""

    drift: bool = True
    root: bool = True
    threshold: float = DEFAULT_THRESHOLD


DEFAULT_RULES = PageRules()


def drift_problem(
    facts: ContentFacts, title: str | None, excerpt: str | None, threshold: float
) -> Problem | None:
    """`content_drift` when the page is no longer the article titled `title`."""
    page_titles = (facts.title, facts.og_title, facts.h1)
    if not any(t and t.strip() for t in page_titles):
        return None  # nothing said: never drift by absence
    if holds_title(title, page_titles):
        return None
    if is_interstitial(page_titles):
        return None  # a bot or consent wall in front of the page: it has not said what it is
    now = _now(facts)
    if is_parked((*page_titles, facts.description)):
        return Problem(
            ProblemCode.CONTENT_DRIFT,
            f"page title is now '{now}': the domain is parked or for sale",
        )
    if not share_a_script(title, page_titles):
        return None  # another script: a translation cannot be compared word by word
    score = similarity(title, page_titles)
    if score is None or score >= threshold:
        return None  # no record title to compare, or the titles still match
    described = similarity(excerpt, (facts.description,), DESCRIPTION_FLOOR)
    if described is not None and described >= max(threshold, DESCRIPTION_MATCH):
        return None  # a new headline over the same story
    return Problem(
        ProblemCode.CONTENT_DRIFT,
        f"page title is now '{now}', which does not match the record's title "
        f"'{shown(title or '', 80)}'",
    )


@cache
def _interstitial() -> re.Pattern[str]:
    """Walls a crawler meets in front of a page (bot checks, consent): not the page,
    not drift. Compiled at the first page judged, not at import (issue 16)."""
    return re.compile(
        r"just a moment|attention required|access denied|are you a (?:robot|human)"
        r"|verify(?:ing)? (?:that )?you are (?:a )?human|checking your browser|one more step"
        r"|before you continue|please enable (?:javascript|js|cookies)|security check|captcha"
        r"|ddos protection|request blocked|bot verification",
    )


def is_interstitial(texts: tuple[str | None, ...]) -> bool:
    """Whether the page's title or heading is a bot check or consent wall."""
    for text in texts:
        if text and _interstitial().search(text[:MAX_TEXT].lower()):
            return True
    return False


def _now(facts: ContentFacts) -> str:
    for text in (facts.title, facts.og_title, facts.h1):
        if text and text.strip():
            return shown(text) or "(only punctuation)"
    return ""


# Landing pages a deleted article is sent to: the root, an index, a home page,
# a locale root ("/en", "/en-gb/", "/fr_FR/").
_LANDING = re.compile(
    r"/*(?:(?:index|default|home|start)(?:\.(?:html?|php|aspx?|jsp))?"
    r"|home|[a-z]{2}(?:[-_][a-z]{2,4})?(?:/(?:index\.html?|home))?)?/*",
    re.IGNORECASE,
)


def is_landing_path(path: str) -> bool:
    """Whether `path` is a site root or a generic landing page."""
    return len(path) <= 64 and _LANDING.fullmatch(path) is not None


def root_problem(url: str, final_url: str | None, redirects: list[Redirect]) -> Problem | None:
    """`redirect_to_root` when a deep link (`url`) was redirected to a landing page."""
    if not redirects or not final_url:
        return None
    try:
        start, end = urlsplit(url), urlsplit(final_url)
    except ValueError:
        return None
    if not is_landing_path(end.path):
        return None
    if is_landing_path(start.path) and not (_addresses_content(start.query) and not end.query):
        return None
    return Problem(
        ProblemCode.REDIRECT_TO_ROOT,
        f"the deep link now redirects to the site's landing page {shown(final_url, 200)}",
    )


def _addresses_content(query: str) -> bool:
    """Whether a query names a page of its own (`?p=123`, `?id=55`): a link such
    as `/?p=123` or `/index.php?id=55` is deep though its path is the root's.
    Campaign tags (`utm_*`) alone name nothing."""
    names = (part.split("=", 1)[0].lower() for part in query.split("&"))
    return any(name and not name.startswith("utm_") for name in names)


def probe_path(path: str, token: str) -> str | None:
    """A path in the same directory as `path` that cannot exist, or None for a
    landing page (its "directory" is the whole site: nothing to learn)."""
    if is_landing_path(path):
        return None
    slash = path.endswith("/")
    directory = path.rstrip("/").rsplit("/", 1)[0] + "/"
    return f"{directory}{token}{'/' if slash else ''}"


def same_page(page: ContentFacts, page_url: str, probe: ContentFacts, probe_url: str) -> bool:
    """Whether a page is what its host serves for a path that cannot exist: both
    ended at the same URL, or their fingerprints (title, heading, description)
    are the same and say something (an empty JS shell is not compared)."""
    if page_url == probe_url:
        return True
    said = (page.title or "").strip() or (page.h1 or "").strip()
    return bool(said) and (page.title, page.h1, page.description) == (
        probe.title,
        probe.h1,
        probe.description,
    )
