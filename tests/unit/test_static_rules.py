"""Static article checks and corpus-wide duplicate detection."""

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.traced import traced

from monitor.corpus.article import Article, Document
from monitor.rules.static import DuplicateDetector, document_problems, domain_matches, url_error
from monitor.vocabulary import Problem, ProblemCode

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

SEED: dict[str, Any] = {
    "title": "Security lapse exposed Clearview AI source code",
    "publishedDateTime": "2020-04-16T19:08:00Z",
    "webUrl": "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/",
    "ampWebUrl": "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
    "cdnAmpWebUrl": "https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
    "provider": {
        "name": "TechCrunch",
        "domain": "techcrunch.com",
        "images": [
            {
                "url": "https://insideout.app/ai/assets/images/organizations/techcrunch.com-50x50.jpg",
                "width": 50,
                "height": 50,
            }
        ],
    },
    "images": [
        {
            "url": "https://techcrunch.com/wp-content/uploads/2020/04/hero.jpg?w=1024",
            "width": 1024,
            "height": 568,
        }
    ],
    "related": [
        {
            "title": "Clearview AI's source code and app data exposed",
            "publishedDateTime": "2020-04-17T09:36:00Z",
            "webUrl": "https://www.theverge.com/2020/4/17/21224718/clearview",
            "ampWebUrl": "https://www.theverge.com/platform/amp/2020/4/17/21224718/clearview",
            "cdnAmpWebUrl": "https://www-theverge-com.cdn.ampproject.org/c/s/www.theverge.com/platform/amp/2020/4/17/21224718/clearview",
            "provider": {"name": "The Verge", "domain": "theverge.com"},
            "images": [
                {"url": "https://cdn.vox-cdn.com/thumbor/x.jpg", "width": 1400, "height": 933}
            ],
        }
    ],
    "secured": "ignored here",
}


def make(raw: dict[str, Any], source: str = "a.txt", line: int = 1) -> Document:
    return Document(source=source, line=line, raw=raw, article=Article.model_validate(raw))


def edit(**changes: Any) -> dict[str, Any]:
    """A copy of SEED with dotted paths set (value None deletes the key)."""
    raw = copy.deepcopy(SEED)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = raw
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return raw


def codes(problems: list[Problem]) -> list[tuple[str, str | None]]:
    return [(p.code.value, p.field) for p in problems]


def test_seed_record_is_clean() -> None:
    assert document_problems(make(SEED), now=NOW) == []


# --- missing_field ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "title"),
        ({"title": "  "}, "title"),
        ({"publishedDateTime": None}, "publishedDateTime"),
        ({"provider": None}, "provider.domain"),
        ({"provider__domain": None}, "provider.domain"),
        ({"cdnAmpWebUrl": None}, "cdnAmpWebUrl"),
        ({"ampWebUrl": None}, "ampWebUrl"),
        ({"images__0__width": None}, "images.0.width"),
        ({"provider__images__0__height": None}, "provider.images.0.height"),
        ({"related__0__webUrl": None}, "related.0.webUrl"),
        ({"related__0__title": None}, "related.0.title"),
        ({"related__0__cdnAmpWebUrl": None}, "related.0.cdnAmpWebUrl"),
        ({"related__0__images__0__height": None}, "related.0.images.0.height"),
    ],
)
def test_missing_field(changes: dict[str, Any], field: str) -> None:
    problems = document_problems(make(edit(**changes)), now=NOW)
    assert codes(problems) == [("missing_field", field)]
    assert field in problems[0].message


def test_missing_cdn_url_message_names_the_expected_value() -> None:
    (problem,) = document_problems(make(edit(cdnAmpWebUrl=None)), now=NOW)
    assert SEED["cdnAmpWebUrl"] in problem.message


def test_optional_fields_are_not_required() -> None:
    raw = edit(
        ampWebUrl=None,
        cdnAmpWebUrl=None,
        images=[],
        related__0__publishedDateTime=None,
        related__0__provider=None,
        related__0__ampWebUrl=None,
        related__0__cdnAmpWebUrl=None,
    )
    assert document_problems(make(raw), now=NOW) == []


# --- invalid_url --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"images__0__url": "ftp://techcrunch.com/a.jpg"}, "images.0.url"),
        ({"provider__images__0__url": "/relative/logo.png"}, "provider.images.0.url"),
        ({"related__0__images__0__url": "https:///nohost.jpg"}, "related.0.images.0.url"),
        ({"related__0__webUrl": "www.theverge.com/x"}, "related.0.webUrl"),
        ({"images__0__url": "https://techcrunch.com/a b.jpg"}, "images.0.url"),
        ({"images__0__url": "https://techcrunch.com:99999/a.jpg"}, "images.0.url"),
        ({"images__0__url": ""}, "images.0.url"),
    ],
)
def test_invalid_url(changes: dict[str, Any], field: str) -> None:
    problems = document_problems(make(edit(**changes)), now=NOW)
    assert ("invalid_url", field) in codes(problems)
    assert all(p.code is not ProblemCode.CDN_URL_MISMATCH for p in problems)


def test_invalid_amp_url_is_not_also_a_cdn_mismatch() -> None:
    problems = document_problems(make(edit(ampWebUrl="mailto:x@techcrunch.com")), now=NOW)
    assert codes(problems) == [("invalid_url", "ampWebUrl")]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "http://example.com:8080/a?b=c#d",
        "https://bücher.example/ü",
        "https://[2001:db8::1]/x",
        "https://192.0.2.1/",
        "HTTPS://EXAMPLE.COM/",
    ],
)
def test_valid_urls(url: str) -> None:
    assert url_error(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com",
        "//example.com/x",
        "javascript:alert(1)",
        "https://",
        "https://a..b/",
        "https://ex\nample.com/",
        "https://example.com/<x>",
        "https://xn--99999999999.com/",
        42,
    ],
)
def test_invalid_urls(url: object) -> None:
    assert url_error(url) is not None


# --- cdn_url_mismatch ---------------------------------------------------------


def test_cdn_mismatch_shows_expected_and_actual() -> None:
    wrong = "https://techcrunch.cdn.ampproject.org/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/"
    (problem,) = document_problems(make(edit(cdnAmpWebUrl=wrong)), now=NOW)
    assert (problem.code, problem.field) == (ProblemCode.CDN_URL_MISMATCH, "cdnAmpWebUrl")
    assert SEED["cdnAmpWebUrl"] in problem.message and wrong in problem.message


def test_cdn_mismatch_in_related_item() -> None:
    raw = edit(
        related__0__cdnAmpWebUrl="https://www-theverge-com.cdn.ampproject.org/c/www.theverge.com/platform/amp/2020/4/17/21224718/clearview"
    )
    assert codes(document_problems(make(raw), now=NOW)) == [
        ("cdn_url_mismatch", "related.0.cdnAmpWebUrl")
    ]


@pytest.mark.parametrize(
    "cdn",
    [
        # equivalent spellings are not flagged
        "https://TECHCRUNCH-COM.cdn.ampproject.org:443/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
        "https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp",
        "https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/#x",
    ],
)
def test_equivalent_cdn_urls_pass(cdn: str) -> None:
    assert document_problems(make(edit(cdnAmpWebUrl=cdn)), now=NOW) == []


def test_trailing_slash_before_query_is_equivalent() -> None:
    raw = edit(
        ampWebUrl="https://techcrunch.com/amp/?outputType=amp",
        cdnAmpWebUrl="https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/amp?outputType=amp",
    )
    assert document_problems(make(raw), now=NOW) == []


def test_amp_url_with_no_cache_url() -> None:
    raw = edit(
        ampWebUrl="https://techcrunch.com:8443/amp/",
        cdnAmpWebUrl="https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/amp/",
    )
    (problem,) = document_problems(make(raw), now=NOW)
    assert problem.code is ProblemCode.CDN_URL_MISMATCH and "port 8443" in problem.message


def test_other_cache_domain() -> None:
    raw = edit(cdnAmpWebUrl=SEED["cdnAmpWebUrl"].replace("cdn.ampproject.org", "bing-amp.com"))
    # the related item's URL is still on the Google cache: wrong for this cache
    assert codes(document_problems(make(raw), now=NOW, cache_domain="bing-amp.com")) == [
        ("cdn_url_mismatch", "related.0.cdnAmpWebUrl")
    ]
    assert codes(document_problems(make(raw), now=NOW)) == [("cdn_url_mismatch", "cdnAmpWebUrl")]


# --- provider_domain_mismatch ------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "url", "ok"),
    [
        ("theverge.com", "https://www.theverge.com/a", True),
        ("theverge.com", "https://theverge.com/a", True),
        ("TheVerge.COM", "https://WWW.theverge.com/a", True),
        ("theverge.com.", "https://www.theverge.com./a", True),
        ("www.theverge.com", "https://theverge.com/a", False),
        ("theverge.com", "https://notheverge.com/a", False),
        ("theverge.com", "https://theverge.com.evil.example/a", False),
        ("bücher.example", "https://www.xn--bcher-kva.example/", True),
        ("xn--bcher-kva.example", "https://bücher.example/", True),
        ("", "https://theverge.com/", False),
    ],
)
def test_domain_matches(domain: str, url: str, ok: bool) -> None:
    assert domain_matches(domain, url) is ok


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"provider__domain": "verge.com"}, "provider.domain", "techcrunch.com"),
        ({"provider__domain": "https://techcrunch.com/"}, "provider.domain", "bare domain"),
        ({"provider__domain": "com"}, "provider.domain", "top-level"),
        (
            {"related__0__provider__domain": "techcrunch.com"},
            "related.0.provider.domain",
            "www.theverge.com",
        ),
    ],
)
def test_provider_domain_mismatch(changes: dict[str, Any], field: str, words: str) -> None:
    problems = document_problems(make(edit(**changes)), now=NOW)
    assert codes(problems) == [("provider_domain_mismatch", field)]
    assert words in problems[0].message


# --- published_in_future ----------------------------------------------------


def test_future_dates_beyond_skew() -> None:
    raw = edit(
        publishedDateTime="2024-05-01T12:04:59Z",  # within 5 minutes: fine
        updatedDateTime="2024-05-01T14:06:00+02:00",  # 12:06Z: 6 minutes ahead
        related__0__publishedDateTime="2024-05-04T12:00:00Z",
    )
    problems = document_problems(make(raw), now=NOW)
    assert codes(problems) == [
        ("published_in_future", "updatedDateTime"),
        ("published_in_future", "related.0.publishedDateTime"),
    ]
    assert "6 min" in problems[0].message and "3 d" in problems[1].message


def test_timestamps_compare_as_instants() -> None:
    # 13:00 at UTC+02:00 is 11:00Z: in the past, although "13:00" > "12:00"
    raw = edit(publishedDateTime="2024-05-01T13:00:00+02:00")
    assert document_problems(make(raw), now=NOW) == []
    east = NOW.astimezone(timezone(timedelta(hours=9)))
    assert document_problems(make(raw), now=east) == []


def test_skew_is_configurable() -> None:
    raw = edit(publishedDateTime="2024-05-01T12:01:00Z")
    assert document_problems(make(raw), now=NOW) == []
    assert codes(document_problems(make(raw), now=NOW, skew=timedelta(0))) == [
        ("published_in_future", "publishedDateTime")
    ]


@given(st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)))
def test_future_iff_beyond_skew(offset: timedelta) -> None:
    published = (NOW + offset).isoformat()
    problems = document_problems(make(edit(publishedDateTime=published)), now=NOW)
    assert bool(problems) == (offset > timedelta(minutes=5))


# --- duplicates ----------------------------------------------------------------


def test_duplicate_web_url_reported_on_every_document() -> None:
    a = make(SEED, "a.txt", 1)
    b = make(
        edit(webUrl="HTTPS://TechCrunch.com:443/2020/04/16/clearview-source-code-lapse/#c"),
        "b.json",
        7,
    )
    c = make(
        edit(webUrl="https://techcrunch.com/other", ampWebUrl="https://techcrunch.com/other/amp"),
        "c.txt",
        3,
    )
    det = DuplicateDetector()
    for d in (a, b, c):
        det.add(d)
    (pa,) = det.problems_for(a)
    (pb,) = det.problems_for(b)
    assert (pa.code, pa.field) == (ProblemCode.DUPLICATE_URL, "webUrl")
    assert "b.json:7" in pa.message and "a.txt:1" in pb.message
    assert det.problems_for(c) == []


def test_amp_url_shared_by_different_articles() -> None:
    a = make(SEED, "a.txt", 1)
    b = make(edit(webUrl="https://techcrunch.com/another-story/"), "b.txt", 2)
    det = DuplicateDetector()
    det.add(a)
    det.add(b)
    assert codes(det.problems_for(a)) == [("duplicate_url", "ampWebUrl")]
    assert "b.txt:2" in det.problems_for(a)[0].message


def test_same_article_twice_is_one_webUrl_duplicate_not_two() -> None:
    det = DuplicateDetector()
    a, b = make(SEED, "a.txt", 1), make(SEED, "a.txt", 40)
    det.add(a)
    det.add(b)
    det.add(a)  # adding again is idempotent
    assert codes(det.problems_for(a)) == [("duplicate_url", "webUrl")]
    assert "a.txt:40" in det.problems_for(a)[0].message


def test_many_duplicates_are_summarised() -> None:
    det = DuplicateDetector()
    docs = [make(SEED, "x.jsonl", i) for i in range(1, 13)]
    for d in docs:
        det.add(d)
    (p,) = det.problems_for(docs[0])
    assert "x.jsonl:2" in p.message and "x.jsonl:6" in p.message
    assert "x.jsonl:7" not in p.message and "and 6 more" in p.message


def test_unseen_document_has_no_duplicates() -> None:
    assert DuplicateDetector().problems_for(make(SEED)) == []


def test_memory_per_document_is_small() -> None:
    base = Article.model_validate(SEED)
    docs = []
    for i in range(5000):
        art = base.model_copy(
            update={
                "webUrl": f"https://techcrunch.com/{i}/",
                "ampWebUrl": f"https://techcrunch.com/{i}/amp/",
            }
        )
        docs.append(Document(source="corpus/big.jsonl", line=i + 1, raw={}, article=art))
    det = DuplicateDetector()
    with traced() as mem:
        for d in docs:
            det.add(d)
    per_doc = mem.grown / len(docs)
    print(f"\nDuplicateDetector: {per_doc:.0f} bytes per document")
    assert per_doc < 300, f"{per_doc:.0f} bytes per document"
