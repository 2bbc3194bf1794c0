"""The one set of URL rules (monitor/urls.py), held together by properties.

Each question has one rule: requestable, normalise (identity), compare
(equivalence), redact. These tests check the rules against each other and
against what the HTTP client accepts, and that the checks built on them
(canonical, amphtml, cdnAmpWebUrl, webUrl validity, target outcome) agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from yarl import URL

from monitor import url_redact, urls
from monitor.check.oneshot import static_result
from monitor.classify import findings
from monitor.corpus.article import Article, Document
from monitor.corpus.records import web_url_problem
from monitor.http.target_url import _parse_general, parse_target, public_url
from monitor.observe.logs import redact_url
from monitor.rules.ampcache import amp_cache_url
from monitor.rules.static import document_problems, url_error
from monitor.storage.opening import shown_url
from monitor.targets import TargetRef
from monitor.vocabulary import (
    CheckResult,
    ContentFacts,
    Expectation,
    Kind,
    Origin,
    Outcome,
    ProblemCode,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# --- strategies --------------------------------------------------------------

_HOSTS = st.sampled_from(
    [
        "a.example", "A.Example", "bücher.example", "xn--bcher-kva.example", "аpple.com",
        "apple.com", "127.0.0.1", "[::1]", "[2001:DB8::1]", "[fe80::1%25eth0]", "a..b",
        "a%2eb", "999.1.1.1", "0x7f.1", "a_b.example", "ex\u200bample.com", "EXAMPLE。com",
        "x" * 64 + ".example", "-a.example", "xn--zz.example", "",
    ]
)  # fmt: skip
_PORTS = st.sampled_from(["", ":", ":0", ":1", ":80", ":443", ":080", ":8080", ":65535", ":65536"])
_PATHS = st.sampled_from(
    ["", "/", "/a", "/a/", "/A", "/a%7eb", "/a~b", "/a%2fb", "/a%2Fb", "/a b", "/a//", "/é",
     "/{x}", "/a/../b", "/b", "/a/./", "/%2e%2e/a", "/a/.."]
)  # fmt: skip
_QUERIES = st.sampled_from(["", "?", "?x=1", "?x=1&y=2", "?y=2&x=1", "?token=s3cr3t", "?a=%7e"])
_FRAGS = st.sampled_from(["", "#", "#top", "#access_token=s3cr3t"])
_SCHEMES = st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "http:", ""])


@st.composite
def url_strings(draw: st.DrawFn) -> str:
    """Mostly URL-shaped strings, with the hostile spellings the rules must decide."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    return "".join(draw(s) for s in (_SCHEMES, _HOSTS, _PORTS, _PATHS, _QUERIES, _FRAGS))


# --- normalise / compare -----------------------------------------------------


@settings(max_examples=400)
@given(url_strings())
@example("0 #")  # a space before a dropped fragment came to the end
@example("A://0? #")
def test_normalise_is_idempotent(url: str) -> None:
    once = urls.normalize(url)
    assert urls.normalize(once) == once


@settings(max_examples=400)
@given(url_strings())
@example("http://a.example/a//")  # one trailing slash is dropped, not two
@example("HTTP://[::]@[[")  # urlsplit misreads this authority
def test_the_comparison_form_is_idempotent(url: str) -> None:
    try:
        form = urls.comparison_form(url)
    except ValueError:
        return
    assert urls.comparison_form(form) == form


@settings(max_examples=400)
@given(url_strings(), url_strings())
@example("https://a.example/a/", "https://a.example/a")
@example("https://A.example:443/a%7e", "https://a.example/a~")
def test_compare_is_equality_of_the_comparison_form(a: str, b: str) -> None:
    try:
        forms = urls.comparison_form(a), urls.comparison_form(b)
    except ValueError:
        assert urls.same(a, b) == (a == b)
        return
    assert urls.same(a, b) == (forms[0] == forms[1])
    assert urls.same(a, b) == urls.same(b, a)


_GOOD_HOSTS = st.sampled_from(
    ["a.example", "A.Example", "bücher.example", "BÜCHER.example", "127.0.0.1", "[::1]"]
)
requestable_urls = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["http://", "https://", "HTTP://", "http://u:p@"]),
        _GOOD_HOSTS,
        st.sampled_from(["", ":80", ":443", ":8080"]),
        st.sampled_from(["", "/", "/a", "/a/", "/a%7e", "/a~", "/A"]),
        st.sampled_from(["", "?", "?x=1", "?X=1"]),
        st.sampled_from(["", "#", "#top"]),
    ),
)


@settings(max_examples=400)
@given(requestable_urls, requestable_urls)
@example("http://u:p@a.example/x", "http://a.example/x")
def test_urls_of_one_identity_are_equivalent(a: str, b: str) -> None:
    """`same` is coarser than `normalize`: one article id, never two pages."""
    assert urls.requestable(a) and urls.requestable(b)
    if urls.normalize(a) == urls.normalize(b):
        assert urls.same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://a.example/x/../y", "https://a.example/y"),
        ("https://a.example/x/%2e%2E/y", "https://a.example/y"),
        ("https://a.example/x/./y/.", "https://a.example/x/y/"),
        ("https://a.example/..", "https://a.example/"),
        ("https://BÜCHER.example/", "https://bu\u0308cher.example/"),  # case and NFC
        ("https://a.example:0443/", "https://a.example/"),
        ("https://a.example:/", "https://a.example/"),
    ],
)
def test_spellings_of_one_resource(a: str, b: str) -> None:
    assert urls.same(a, b)
    assert urls.comparison_form(urls.comparison_form(a)) == urls.comparison_form(a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://аpple.com/", "https://apple.com/"),  # Cyrillic а: a homograph, another host
        ("https://a.example/a%2fb", "https://a.example/a/b"),
        ("https://a.example/a", "https://a.example/A"),
        ("https://a.example/a%2eb", "https://a.example/a/b"),
    ],
)
def test_spellings_that_name_other_resources(a: str, b: str) -> None:
    assert not urls.same(a, b)


# --- canonical, amphtml and cdnAmpWebUrl judged by one rule --------------------

WEB = "https://news.example/2024/story"
AMP = "https://news.example/2024/story/amp"
VARIANTS = [
    ("trailing slash", lambda u: u + "/", True),
    ("host case", lambda u: u.replace("news.example", "NEWS.Example"), True),
    ("default port", lambda u: u.replace("news.example", "news.example:443"), True),
    ("escaped unreserved", lambda u: u.replace("story", "st%6Fry"), True),
    ("path case", lambda u: u.replace("story", "Story"), False),
    ("other scheme", lambda u: u.replace("https:", "http:"), False),
    ("other port", lambda u: u.replace("news.example", "news.example:8443"), False),
]


def _canonical_mismatch(found: str, expected: str) -> bool:
    facts = ContentFacts(content_type="text/html", is_amp=True, canonical=found, bytes_read=9)
    result = CheckResult(AMP, Kind.AMP, Outcome.OK, NOW, http_status=200, facts=facts)
    ref = TargetRef("a1", Kind.AMP, Origin.ARTICLE, Expectation(canonical=expected))
    return ProblemCode.CANONICAL_MISMATCH in {p.code for p in findings(result, ref)}


def _amphtml_mismatch(found: str, expected: str) -> bool:
    facts = ContentFacts(content_type="text/html", is_amp=False, amphtml=found, bytes_read=9)
    result = CheckResult(WEB, Kind.WEB, Outcome.OK, NOW, http_status=200, facts=facts)
    ref = TargetRef("a1", Kind.WEB, Origin.ARTICLE, Expectation(amphtml=expected))
    return ProblemCode.AMPHTML_LINK_MISMATCH in {p.code for p in findings(result, ref)}


def _cdn_mismatch(amp: str, cdn: str) -> bool:
    raw: dict[str, Any] = {
        "webUrl": WEB,
        "title": "t",
        "publishedDateTime": "2024-01-01T00:00:00Z",
        "provider": {"domain": "news.example"},
        "ampWebUrl": amp,
        "cdnAmpWebUrl": cdn,
    }
    doc = Document("a.txt", 1, raw, Article.model_validate(raw))
    return ProblemCode.CDN_URL_MISMATCH in {p.code for p in document_problems(doc, now=NOW)}


@pytest.mark.parametrize(("name", "variant", "equivalent"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_canonical_amphtml_and_cdn_checks_agree(name: str, variant: Any, equivalent: bool) -> None:
    verdicts = {
        "canonical": _canonical_mismatch(variant(WEB), WEB),
        "amphtml": _amphtml_mismatch(variant(AMP), AMP),
        "cdn": _cdn_mismatch(AMP, _cdn_variant(amp_cache_url(AMP), name, variant)),
    }
    assert verdicts == dict.fromkeys(verdicts, not equivalent), name


def _cdn_variant(cdn: str, name: str, variant: Any) -> str:
    """The same change made to the cache URL (its own host, port and scheme)."""
    host = "news-example.cdn.ampproject.org"
    if name == "other scheme":  # the publisher's scheme, as the cache path spells it
        return cdn.replace("/c/s/", "/c/")
    spelled = {
        "host case": "News-Example.CDN.ampproject.org",
        "default port": host + ":443",
        "other port": host + ":8443",
    }
    return cdn.replace(host, spelled[name], 1) if name in spelled else variant(cdn)


# --- requestable -------------------------------------------------------------


@settings(max_examples=500)
@given(url_strings())
@example("http://a:0/")
@example("http://[fe80::1%25eth0]/")
@example("http://a.com:+80/")
@example("http://a.com:\uff11\uff12/")
@example("http://ex\u200bample.com/")
@example("http://evil\\@good/")
@example("http://[v1.x]/")
def test_requestable_is_what_the_client_accepts(url: str) -> None:
    ok = urls.requestable(url)
    assert (parse_target(url) is not None) == ok
    assert (static_result(url, Kind.IMAGE, NOW) is None) == ok
    assert (url_error(url) is None) == ok
    assert (web_url_problem(url) is None) == ok
    if ok:  # the client builds exactly an http(s) request for it
        built = _parse_general(url)
        assert built is not None and built.scheme in ("http", "https")
        assert built.raw_host and built.port is not None and 0 < built.port <= 65535


_PIECES = st.sampled_from(
    [*"abcAB09-._~:/?#[]@!$&'()*+,;=% \\^`{}|<>\"", "%2e", "%2E%2e", "%41", "%zz", "..",
     "xn--", ":80", ":0443", "[::1]", "u:p@", "\u0130", "\u03c2", "\U0001f600", "\u202e",
     "\u3000", "\u2024", "\uff0e", "\ufb01", "é", "\ud800", "\u200b", "\u3002", "\u0308",
     "ß", "\uff45", "\ufeff", "\u00ad"]
)  # fmt: skip
_WIRE = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["http://", "https://"]),
        st.lists(_PIECES, max_size=8).map("".join),
        st.lists(_PIECES, max_size=12).map("".join),
    ),
)


@settings(max_examples=1000)
@given(_WIRE)
@example("http://\uff45/")  # full-width e: the client would ask for e
@example("http://_ß/")  # IDNA 2003 fallback: the client would ask for _ss
@example("http://[::1]a/")  # urlsplit ignores the a
@example("http://[::1]@a/")
@example("http://a.com/\ud800")  # the client drops a lone surrogate
@example("http://%2e\u2024@a/")
@example("http://a//.")
def test_the_client_sends_what_was_written(url: str) -> None:
    """What the rule lets through, the client sends as an equivalent URL."""
    if not urls.requestable(url):
        return
    built = parse_target(url)
    assert built is not None
    assert urls.comparison_form(str(built)) == urls.comparison_form(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://a.example:0/", "port 0"),
        ("http://a.example:65536/", "Port out of range"),
        ("http://a.example:+80/", "cannot be parsed"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://[v1.x]/", "IPv6"),
        ("http://a%2eb.example/", "character '%'"),
        ("http://ex\u200bample.com/", "character"),
        ("http://example\u3002com/", "character"),
        ("http://999.1.1.1/", "IPv4"),
        ("http://0x7f.1/", "IPv4"),
        ("http://1.2.3.04/", "IPv4"),
        ("http://" + "a" * 64 + ".example/", "63"),
        ("http://" + "a." * 127 + "example/", "253"),
        ("http://a..b/", "empty label"),
        ("http://xn--zz.example/", "punycode"),
        ("http://evil\\@good/", "percent-encoded"),
        ("http://a.example/" + "x" * 100_000, "longer than 65536"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_hostile_urls_cannot_be_requested(url: str, why: str) -> None:
    problem = urls.problem(url)
    assert problem is not None and why in problem
    assert parse_target(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://аpple.com/",  # an IDN is a name like any other (homographs are compared strictly)
        "https://bücher.example/ü",
        "https://[::ffff:1.2.3.4]/",
        "http://127.0.0.1:65535/x",
        "http://a_b.example/",
        "https://xn--57hw060o.com/",
        "http://a.example:/",
        "http://u:p@a.example/",
    ],
)
def test_requestable_urls(url: str) -> None:
    assert urls.problem(url) is None


# --- redact ------------------------------------------------------------------

_USERINFO = st.text(
    st.sampled_from([*"abcXYZ019:@%!$&'()*+,;=-._~\\", "é"]), min_size=0, max_size=12
)


@settings(max_examples=500)
@given(_USERINFO, _USERINFO, st.sampled_from(["http://", "https://", "http:", "postgresql://"]))
@example("u@x", ":p@ss", "http://")
@example("", ":", "http://")
def test_redact_never_leaks_userinfo(user: str, password: str, scheme: str) -> None:
    secret = "S3CR3T" + password
    url = f"{scheme}{user}{secret}@host.example:8080/path?q=1#f"
    shown = urls.redact(url)
    assert "S3CR3T" not in shown
    assert shown.endswith("host.example:8080/path?q=1#f")
    parts = urlsplit(shown if "//" in shown else shown.replace(":", "://", 1))
    assert parts.password is None and (parts.username or "***").endswith("***")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://a.example/p?x=1", "https://a.example/p?x=1"),
        ("https://u:p@a.example/p", "https://***@a.example/p"),
        ("https://u:p\\@a.example/p", "https://***@a.example/p"),
        ("http:u:p@a.example/p", "http:***@a.example/p"),
        ("https://a.example/?a=1&token=t0k&b=2", "https://a.example/?a=1&token=***&b=2"),
        ("https://a.example/?X-Amz-Signature=abc", "https://a.example/?X-Amz-Signature=***"),
        ("https://a.example/#access_token=t0k", "https://a.example/#access_token=***"),
        ("https://a.example/p@q?email=a@b.example", "https://a.example/p@q?email=a@b.example"),
        (
            "postgresql+psycopg://am:s3cret@db.internal/am",
            "postgresql+psycopg://***@db.internal/am",
        ),
        ("postgresql://am:pa/ss@db/am", "postgresql://***@db/am"),
        (
            "postgresql://db/am?password=s3cret&sslmode=require",
            "postgresql://db/am?password=***&sslmode=require",
        ),
        ("sqlite:////data/a@b/am.db", "sqlite:////data/a@b/am.db"),
        ("not a url at all", "not a url at all"),
        ("admin:hunter2@grafana.example/x?token=t", "***@grafana.example/x?token=***"),
        ("urn:isbn:0451450523", "urn:isbn:0451450523"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert urls.redact(url) == shown


_URLISH = st.text(st.sampled_from([*"ab:/?#&;%\\.", "é"]), max_size=30)


@settings(max_examples=500)
@given(st.one_of(_URLISH, st.text(max_size=40)), st.sampled_from(["", "http://", "https:", "x://"]))
@example("", "http://")
@example("a.example/p?x", "https://")
def test_redact_fast_path_is_the_general_rule(rest: str, scheme: str) -> None:
    """A URL without `@` or `=` comes back as is: the same answer as the full rule."""
    url = scheme + rest
    assert urls.redact(url) == url_redact._redact_general(url)


def test_huge_urls_are_never_requested_nor_compared() -> None:
    huge = "https://a.example/" + "x" * 100_000
    assert not urls.plain(huge) and not urls.requestable(huge)
    assert not urls.same(huge, huge + "/") and urls.same(huge, huge)
    assert urls.normalize(huge) == huge


def test_every_redaction_is_the_one_rule() -> None:
    from monitor.config import Settings

    url = "https://user:pw@a.example/x?token=t"
    assert redact_url(url) == urls.redact(url)
    assert public_url(URL(url)) == urls.redact(str(URL(url)))
    assert Settings(db="postgresql://u:pw@h/db?password=pw").redacted()["db"] == (
        "postgresql://***@h/db?password=***"
    )
    for database in (
        "postgresql://u:pw@h/db",
        "postgresql://h/db?password=pw",
        "postgresql//u:pw@h/db",  # not a URL: SQLAlchemy's make_url raised here
    ):
        assert "pw" not in shown_url(database)


@pytest.mark.parametrize(
    "url", ["ftp://admin:hunter2@grafana.example/", "https://admin:hunter2@/", "grafana:hunter2@x"]
)
def test_grafana_push_refuses_a_bad_url_without_showing_its_password(
    tmp_path: Any, url: str
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    token = tmp_path / "token"
    token.write_text("t0k3n\n")
    token.chmod(0o600)
    result = CliRunner().invoke(cli, ["grafana", "push", "--url", url, "--token-file", str(token)])
    assert result.exit_code == 2, result.output
    assert "--url" in result.output and "cannot be used" in result.output
    assert "hunter2" not in result.output
