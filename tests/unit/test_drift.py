"""content_drift and redirect_to_root: classify.findings over fetched facts and a record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.classify import findings
from monitor.content.drift import PageRules, is_landing_path, root_problem
from monitor.observe.metrics import DaemonMetrics, Snapshot
from monitor.targets import TargetRef
from monitor.vocabulary import (
    CheckResult,
    ContentFacts,
    Expectation,
    Kind,
    Origin,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
)

NOW = datetime(2026, 12, 4, tzinfo=UTC)
TITLE = "Security lapse exposed Clearview AI source code"
EXCERPT = (
    "Since it exploded onto the scene in January after a newspaper exposé, Clearview AI "
    "quickly became one of the most elusive, secretive, and reviled companies"
)
URL = "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/"


def result(
    *,
    title: str | None = None,
    og_title: str | None = None,
    h1: str | None = None,
    description: str | None = None,
    final_url: str = URL,
    redirects: list[Redirect] | None = None,
    outcome: Outcome = Outcome.OK,
    kind: Kind = Kind.WEB,
    problems: list[Problem] | None = None,
) -> CheckResult:
    facts = ContentFacts(
        content_type="text/html",
        is_amp=False,
        title=title,
        og_title=og_title,
        h1=h1,
        description=description,
    )
    return CheckResult(
        url=URL,
        kind=kind,
        outcome=outcome,
        checked_at=NOW,
        http_status=200,
        final_url=final_url,
        redirects=redirects or [],
        facts=facts,
        problems=problems or [],
    )


def ref(
    kind: Kind = Kind.WEB, title: str | None = TITLE, excerpt: str | None = EXCERPT
) -> TargetRef:
    return TargetRef("a" * 16, kind, Origin.ARTICLE, Expectation(title=title, excerpt=excerpt))


def codes(res: CheckResult, r: TargetRef | None = None, rules: PageRules | None = None) -> set[str]:
    got = findings(res, r or ref(), rules or PageRules())
    return {p.code.value for p in got}


@pytest.mark.parametrize(
    "page_title",
    [
        TITLE,
        f"{TITLE} | TechCrunch",
        f"TechCrunch - {TITLE}",
        TITLE.upper(),
        "Security lapse exposed Clearview AI&#8217;s source code – TechCrunch",
        "Security lapse exposes Clearview AI’s source code, app data",  # edited headline
        "Clearview AI: Sicherheitslücke legte Quellcode offen",  # language variant, names kept
        "“Security lapse” exposed Clearview AI source code!",
    ],
)
def test_what_publishers_routinely_do_is_not_drift(page_title: str) -> None:
    assert "content_drift" not in codes(result(title=page_title))


@pytest.mark.parametrize(
    ("page_title", "shown"),
    [
        ("Domain for sale", "Domain for sale"),
        ("TechCrunch | Startup and Technology News", "TechCrunch | Startup and Technology News"),
        ("Ten best laptops for students in 2024", "Ten best laptops for students in 2024"),
    ],
)
def test_another_page_is_drift_and_the_message_says_what_it_is_now(
    page_title: str, shown: str
) -> None:
    got = findings(result(title=page_title, description="Other things entirely"), ref())
    drift = [p for p in got if p.code is ProblemCode.CONTENT_DRIFT]
    assert len(drift) == 1
    assert f"page title is now '{shown}'" in drift[0].message


def test_a_parked_domain_is_drift_even_sharing_words() -> None:
    got = codes(result(title="clearview-source-code.com is for sale!"))
    assert "content_drift" in got


def test_a_new_headline_over_the_same_description_is_not_drift() -> None:
    page = result(title="Facial recognition firm in trouble again", description=EXCERPT)
    assert "content_drift" not in codes(page)


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_or_missing_title_is_never_drift_by_absence(empty: str | None) -> None:
    assert "content_drift" not in codes(result(title=empty, description="Something else"))


def test_og_title_or_h1_stand_in_for_an_empty_title() -> None:
    assert "content_drift" in codes(result(title="", h1="Welcome to our store"))
    assert "content_drift" not in codes(result(title="", og_title=TITLE + " | TC"))


def test_drift_is_judged_only_for_web_and_amp_references() -> None:
    page = result(title="Domain for sale")
    assert "content_drift" in codes(page, ref(Kind.AMP))
    assert "content_drift" not in codes(page, ref(Kind.CDN))
    assert "content_drift" not in codes(page, ref(Kind.IMAGE))


def test_no_record_title_no_drift() -> None:
    assert "content_drift" not in codes(result(title="Domain for sale x"), ref(title=None))


def test_a_soft_404_is_not_also_drift() -> None:
    soft = Problem(ProblemCode.SOFT_404, "not found")
    assert codes(result(title="Page not found", problems=[soft])) == {"soft_404"}


def test_a_page_that_did_not_answer_is_not_judged() -> None:
    assert codes(result(title="Domain for sale", outcome=Outcome.NOT_FOUND)) == set()


def test_switches_and_threshold() -> None:
    page = result(title="Domain for sale")
    assert "content_drift" not in codes(page, rules=PageRules(drift=False))
    edited = result(title="Clearview AI sued over facial recognition")  # shares 2 of 6 words
    assert "content_drift" not in codes(edited, rules=PageRules(threshold=0.2))
    assert "content_drift" in codes(edited, rules=PageRules(threshold=0.9))


# -- redirect_to_root


@pytest.mark.parametrize(
    "final",
    [
        "https://techcrunch.com/",
        "https://techcrunch.com",
        "https://techcrunch.com/index.html",
        "https://techcrunch.com/home",
        "https://techcrunch.com/en/",
        "https://techcrunch.com/en-gb",
        "https://www.techcrunch.com/?utm_source=old",
    ],
)
def test_a_deep_link_sent_to_a_landing_page(final: str) -> None:
    hops = [Redirect(301, final)]
    got = codes(result(final_url=final, redirects=hops, outcome=Outcome.MOVED, title=TITLE))
    assert "redirect_to_root" in got


def test_not_a_root_redirect() -> None:
    moved = "https://techcrunch.com/2020/04/16/clearview-source-code-lapse-2/"
    assert root_problem(URL, moved, [Redirect(301, moved)]) is None
    assert root_problem(URL, "https://techcrunch.com/", []) is None  # no redirect
    assert (
        root_problem(
            "https://techcrunch.com/", "https://techcrunch.com/en/", [Redirect(302, "/en/")]
        )
        is None
    )
    off = PageRules(root=False)
    hops = [Redirect(301, "https://techcrunch.com/")]
    page = result(final_url="https://techcrunch.com/", redirects=hops, title=TITLE)
    assert "redirect_to_root" not in codes(page, rules=off)
    assert "redirect_to_root" not in codes(page, ref(Kind.CDN))


@given(st.text(max_size=80))
def test_landing_path_never_raises(path: str) -> None:
    is_landing_path(path)


# -- adversarial pages


@pytest.mark.parametrize(
    "page_title",
    [
        "x" * 100_000,
        "!!!???...|||" * 50,
        "أمن الثغرات كشفت شفرة Clearview AI المصدرية",  # RTL with names kept
        "\u202eedoc ecruos IA weivraelC",  # a bidi override
        "&amp;" * 20_000,
        "&#0;&#xD800;&#x110000;&bogus;",
        "Clearview 漏洞 源代码 AI",  # mixed scripts
    ],
)
def test_adversarial_titles_never_raise_and_messages_stay_short(page_title: str) -> None:
    got = findings(result(title=page_title), ref())
    for p in got:
        assert len(p.message) < 400
        assert "\u202e" not in p.message


def test_the_problem_gauge_has_a_series_for_each_new_code() -> None:
    text = DaemonMetrics(Snapshot).render().decode()
    for code in ("content_drift", "redirect_to_root", "soft_404"):
        assert f'article_monitor_problems{{code="{code}"}}' in text


def test_a_translation_into_another_script_is_not_drift() -> None:
    assert "content_drift" not in codes(result(title="ثغرة أمنية كشفت شفرة المصدر"))
    assert "content_drift" in codes(result(title="域名出售 domain for sale"))  # parked: still said


def test_the_fingerprint_crosses_the_worker_pipe_and_an_older_frame_still_decodes() -> None:
    import marshal

    from monitor.check.pipe import result_row, results_frame, results_from_frame

    page = result(title="Domain for sale", og_title="og", h1="h", description="d")
    [(_, back)] = results_from_frame(results_frame([result_row(URL, page)])[4:])
    assert (back.facts.title, back.facts.og_title, back.facts.h1, back.facts.description) == (
        "Domain for sale",
        "og",
        "h",
        "d",
    )
    row = list(result_row(URL, page))
    row[11] = row[11][:9]  # a worker of the release before: facts without the fingerprint
    [(_, old)] = results_from_frame(marshal.dumps([tuple(row)]))
    assert old.facts.title is None and old.facts.content_type == "text/html"


BLANK = st.sampled_from([None, "", " ", "\n\t", "\u200b"])


@given(st.text(max_size=120), st.text(max_size=200), BLANK, BLANK, BLANK)
def test_never_drift_when_the_page_says_nothing(
    title: str, description: str, page_title: str | None, og: str | None, h1: str | None
) -> None:
    page = result(title=page_title, og_title=og, h1=h1, description=description)
    assert "content_drift" not in codes(page, ref(title=title or None))


HEADLINE = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9), min_size=3, max_size=9
).map(lambda ws: " ".join(w.capitalize() if i % 3 == 0 else w for i, w in enumerate(ws)))


@given(
    HEADLINE,
    st.sampled_from(["{} | The Verge", "BBC News - {}", "{} – TechCrunch", "{}", "“{}”"]),
    st.sampled_from([str.lower, str.upper, str.title, lambda s: s]),
)
def test_never_drift_for_the_headline_in_a_publishers_dress(
    headline: str, shape: str, case: object
) -> None:
    assert callable(case)
    page = result(title=shape.format(case(headline)))
    assert "content_drift" not in codes(page, ref(title=headline))
