"""`exclude_urls` in the audit (the one place `check` and the daemon take their
targets from), the pattern check the settings use, and the summary line."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.check.report.rows import Tally
from monitor.check.report.table import summary_line
from monitor.config import ConfigError, Settings, load_settings
from monitor.corpus import iter_documents
from monitor.corpus.article import Document, InvalidDocument
from monitor.rules.audit import AuditRules, audit_document
from monitor.secured.keys import KeyRing
from monitor.text_clip import clip
from monitor.url_exclude import pattern_problem, searched_form, url_exclusion

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RING = KeyRing([])
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"


def _documents() -> list[Document]:
    return [d for d in iter_documents([EXAMPLES]) if not isinstance(d, InvalidDocument)]


DOCS = _documents()
URLS = sorted({url for d in DOCS for url, _ in audit_document(d, RING, now=NOW).refs})


def rules(*patterns: str) -> AuditRules:
    return AuditRules.of(Settings(exclude_urls=list(patterns)))


def test_the_examples_hold_urls_to_exclude() -> None:
    assert len(DOCS) > 10 and len(URLS) > 50


# fragments of the examples' URLs (hosts, paths, extensions), made into patterns
_FRAGMENTS = sorted({m for u in URLS for m in re.findall(r"[a-z0-9-]{3,}|\.jpg|/amp/", u)})
patterns = st.lists(
    st.one_of(
        st.sampled_from(_FRAGMENTS).map(re.escape),
        st.sampled_from(_FRAGMENTS).map(lambda f: "^https?://[^/]*" + re.escape(f)),
        st.sampled_from(_FRAGMENTS).map(lambda f: re.escape(f) + "$"),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(patterns)
def test_exclusion_leaves_out_exactly_the_matching_references(chosen: list[str]) -> None:
    """The audit with patterns is the audit without them, less the references
    whose URL a pattern finds (re.search), in the same order; `excluded` counts
    them; the article-level findings and the signature are the same."""
    compiled = [re.compile(p) for p in chosen]
    for d in DOCS:
        plain = audit_document(d, RING, now=NOW)
        got = audit_document(d, RING, now=NOW, rules=rules(*chosen))
        kept = [r for r in plain.refs if not any(p.search(r[0]) for p in compiled)]
        assert got.refs == kept
        assert got.excluded == len(plain.refs) - len(kept)
        assert got.problems == plain.problems
        assert got.signature == plain.signature


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcxyz0123456789-_~", min_size=1, max_size=12))
def test_a_pattern_that_matches_no_url_changes_no_audit(word: str) -> None:
    """`~` is in no example URL: a pattern holding it matches none, and every
    audit is as without it (nothing excluded, nothing counted)."""
    pattern = re.escape(word) + "~"
    for d in DOCS:
        plain = audit_document(d, RING, now=NOW)
        got = audit_document(d, RING, now=NOW, rules=rules(pattern))
        assert (got.refs, got.excluded, got.problems) == (plain.refs, 0, plain.problems)


def test_an_excluded_web_url_keeps_the_article_and_its_other_targets() -> None:
    d = next(d for d in DOCS if d.article.images)
    audit = audit_document(d, RING, now=NOW, rules=rules("^" + re.escape(d.article.webUrl) + "$"))
    assert d.article.webUrl not in [u for u, _ in audit.refs]
    assert audit.refs and audit.excluded == 1


def test_the_default_compiles_nothing() -> None:
    assert not url_exclusion([])
    assert not AuditRules.of(Settings()).urls


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(", "missing ), unterminated subpattern at position 0"),
        ("[a-", "unterminated character set"),
        ("*x", "nothing to repeat"),
        ("a(?i)b", "global flags not at the start"),
        ("a{99999999999999999999}", "the repetition number is too large"),
        ("(" * 1000 + ")" * 1000, "recursion"),
    ],
    ids=["paren", "set", "repeat", "flags", "too-large", "too-deep"],
)
def test_an_invalid_pattern_is_named_with_the_regex_error(pattern: str, why: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and why in problem
    assert problem.startswith(f"pattern {clip(pattern, 80)!r} is not")  # a long one cut
    assert len(problem) < 300
    with pytest.raises(
        ConfigError, match=re.escape("exclude_urls (from flag --exclude-url): pattern")
    ):
        load_settings(flags={"exclude_urls": ["ok", pattern]}, environ={})


def test_valid_patterns_load_from_every_layer(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("exclude_urls = ['^https?://ads\\.']\n")
    env = {"ARTICLE_MONITOR_EXCLUDE_URLS": r"/\d{1,3}/"}  # one pattern: its comma kept
    assert load_settings(config, environ={}).exclude_urls == [r"^https?://ads\."]
    assert load_settings(environ=env).exclude_urls == [r"/\d{1,3}/"]
    flags: dict[str, Any] = {"exclude_urls": ("x",)}
    assert load_settings(config, flags, environ=env).exclude_urls == ["x"]


@pytest.mark.parametrize(
    ("variable", "patterns"),
    [
        (r"/\d{1,3}/", [r"/\d{1,3}/"]),
        ("(a|b){2,}", ["(a|b){2,}"]),
        ("[0-9]+\\.ads\\.", ["[0-9]+\\.ads\\."]),  # begins with `[`, not JSON
        ("[1]", ["[1]"]),  # JSON, but not a list of strings: a pattern
        ("[a-z,]+", ["[a-z,]+"]),
        (' ["^x", "y{1,2}"] ', ["^x", "y{1,2}"]),
        ("[]", []),
    ],
)
def test_the_variable_is_one_pattern_or_a_json_list(variable: str, patterns: list[str]) -> None:
    """ARTICLE_MONITOR_EXCLUDE_URLS is never split on commas as other lists are:
    `\\d{1,3}` became the two patterns `\\d{1` and `3}`, which matched nothing,
    and a pattern beginning with `[` was refused as invalid JSON."""
    env = {"ARTICLE_MONITOR_EXCLUDE_URLS": variable}
    assert load_settings(environ=env).exclude_urls == patterns
    other = {"ARTICLE_MONITOR_EXCLUDE_FIELDS": "title,provider.name"}  # other lists still split
    assert load_settings(environ=other).exclude_fields == ["title", "provider.name"]


def test_the_summary_line_says_excluded_only_when_some_were() -> None:
    tally = Tally(articles=1, targets=2)
    assert "excluded" not in summary_line(tally, 0.1)
    tally.excluded = 3
    assert "3 excluded by exclude_urls" in summary_line(tally, 0.1)
    assert tally.to_json(0.1)["excluded"] == 3


# a leading `.*`/`.*?` (after global flags) is dropped for the search; what is
# searched must match exactly the URLs the pattern as written matches
LEADING_ANY = [
    ".*a",
    ".*?ab",
    ".*.*?b$",
    "(?i).*A",
    "(?s).*a$",
    "(?m).*^a",
    ".*(?<=a)b",
    ".*\\bab",
    ".*(a)\\1",
    ".*|b",
    ".*",
    ".*+a",  # possessive: kept as written
    ".*{ab",  # kept as written
]


@given(st.text(alphabet="ab/.\nA", max_size=10))
@settings(max_examples=300)
def test_the_searched_form_matches_what_the_pattern_matches(url: str) -> None:
    for pattern in LEADING_ANY:
        searched = searched_form(pattern)
        assert (re.search(pattern, url) is None) == (re.search(searched, url) is None), (
            pattern,
            searched,
        )


def test_a_leading_any_is_not_searched() -> None:
    """Tried from each position of the URL to its end, it made the search
    quadratic in the URL's length (39 s for '(?i).*doubleclick' on 65,000
    characters): the acceptance test holds that end to end."""
    assert [p.pattern for p in url_exclusion(["(?i).*x.*", ".*?y", "a.*b", ".*+z"]).compiled] == [
        "(?i)x.*",
        "y",
        "a.*b",
        ".*+z",
    ]
