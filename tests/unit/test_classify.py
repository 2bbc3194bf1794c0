"""Classification: one outcome per check, expectation-free problems, per-article findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.classify import ErrorKind, findings, outcome_for, result_problems
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
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WEB = "https://news.example/2024/story/"
AMP = "https://news.example/2024/story/amp/"

# --- outcome_for -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent", "outcome"),
    [
        (200, False, Outcome.OK),
        (204, False, Outcome.OK),
        (299, False, Outcome.OK),
        (200, True, Outcome.MOVED),
        (206, True, Outcome.MOVED),
        (404, False, Outcome.NOT_FOUND),
        (410, True, Outcome.NOT_FOUND),
        (429, False, Outcome.RATE_LIMITED),
        (400, False, Outcome.HTTP_ERROR),
        (403, False, Outcome.HTTP_ERROR),
        (451, False, Outcome.HTTP_ERROR),
        (500, False, Outcome.HTTP_ERROR),
        (503, True, Outcome.HTTP_ERROR),
        (301, False, Outcome.HTTP_ERROR),  # a final redirect without Location
        (304, False, Outcome.HTTP_ERROR),
        (100, False, Outcome.HTTP_ERROR),
        (999, False, Outcome.HTTP_ERROR),
    ],
)
def test_outcome_from_status(status: int, permanent: bool, outcome: Outcome) -> None:
    assert outcome_for(status=status, error=None, permanent_redirect_seen=permanent) is outcome


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ErrorKind.TIMEOUT, Outcome.TIMEOUT),
        (ErrorKind.DNS, Outcome.DNS_ERROR),
        (ErrorKind.REFUSED, Outcome.CONNECTION_ERROR),
        (ErrorKind.RESET, Outcome.CONNECTION_ERROR),
        (ErrorKind.CLOSED, Outcome.CONNECTION_ERROR),
        (ErrorKind.PROTOCOL, Outcome.CONNECTION_ERROR),
        (ErrorKind.TLS, Outcome.TLS_ERROR),
        (ErrorKind.TOO_MANY_REDIRECTS, Outcome.TOO_MANY_REDIRECTS),
        (ErrorKind.BLOCKED, Outcome.BLOCKED),
        (ErrorKind.INVALID_URL, Outcome.INVALID_URL),
    ],
)
def test_outcome_from_error(error: ErrorKind, outcome: Outcome) -> None:
    assert outcome_for(status=None, error=error, permanent_redirect_seen=False) is outcome
    # an error wins over any status (a 200 whose body timed out is a timeout)
    assert outcome_for(status=200, error=error, permanent_redirect_seen=True) is outcome


def test_neither_status_nor_error_is_a_connection_error_not_a_crash() -> None:
    got = outcome_for(status=None, error=None, permanent_redirect_seen=False)
    assert got is Outcome.CONNECTION_ERROR


@given(
    st.one_of(st.none(), st.integers(-10, 1000)),
    st.one_of(st.none(), st.sampled_from(list(ErrorKind))),
    st.booleans(),
)
def test_exactly_one_outcome_always(
    status: int | None, error: ErrorKind | None, permanent: bool
) -> None:
    got = outcome_for(status=status, error=error, permanent_redirect_seen=permanent)
    assert got in set(Outcome)
    assert got.is_up == (error is None and status is not None and 200 <= status <= 299)


# --- result_problems -------------------------------------------------------------


def problems(
    kind: Kind,
    facts: ContentFacts,
    *,
    latency_ms: float | None = 100.0,
    cert: datetime | None = None,
    outcome: Outcome | None = None,
    body_decoded: bool = True,
) -> list[Problem]:
    return result_problems(
        kind=kind,
        facts=facts,
        latency_ms=latency_ms,
        cert_not_after=cert,
        now=NOW,
        cert_warning_days=14.0,
        latency_budget_ms=5000.0,
        outcome=outcome,
        body_decoded=body_decoded,
    )


def codes(found: list[Problem]) -> list[ProblemCode]:
    return [p.code for p in found]


HTML = ContentFacts(content_type="text/html; charset=utf-8", is_amp=False, bytes_read=2000)
JPEG = ContentFacts(
    content_type="image/jpeg", image_format="jpeg", width=1200, height=630, bytes_read=4096
)


def test_healthy_page_and_image_have_no_problems() -> None:
    assert problems(Kind.WEB, HTML) == []
    assert problems(Kind.AMP, replace(HTML, is_amp=True)) == []
    assert problems(Kind.IMAGE, JPEG) == []


@pytest.mark.parametrize("kind", [Kind.WEB, Kind.AMP, Kind.CDN])
@pytest.mark.parametrize("ctype", ["application/json", "image/png", "text/plain; charset=utf-8"])
def test_page_that_is_not_html(kind: Kind, ctype: str) -> None:
    found = problems(kind, ContentFacts(content_type=ctype, bytes_read=10))
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert ctype in found[0].message and "HTML" in found[0].message


def test_xhtml_is_html_and_a_missing_content_type_is_not_judged() -> None:
    assert problems(Kind.WEB, ContentFacts(content_type="application/xhtml+xml")) == []
    assert problems(Kind.WEB, ContentFacts(content_type=None, bytes_read=100)) == []


def test_image_served_as_html() -> None:
    found = problems(Kind.IMAGE, ContentFacts(content_type="text/html", bytes_read=900))
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert "expected an image" in found[0].message and "text/html" in found[0].message


def test_image_labelled_as_image_but_the_bytes_are_not() -> None:
    found = problems(Kind.IMAGE, ContentFacts(content_type="image/jpeg", bytes_read=512))
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert "512 bytes" in found[0].message


def test_image_with_octet_stream_but_real_image_bytes() -> None:
    facts = replace(JPEG, content_type="application/octet-stream")
    found = problems(Kind.IMAGE, facts)
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert "jpeg" in found[0].message


def test_unsniffable_image_subtype_gets_the_benefit_of_the_doubt() -> None:
    facts = ContentFacts(content_type="image/jp2", bytes_read=512)
    assert problems(Kind.IMAGE, facts) == []


def test_image_without_content_type_is_judged_by_its_bytes() -> None:
    assert problems(Kind.IMAGE, replace(JPEG, content_type=None)) == []
    found = problems(Kind.IMAGE, ContentFacts(content_type=None, bytes_read=300))
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]


@pytest.mark.parametrize("ctype", ["image/png", "image/webp", None])
def test_image_whose_header_breaks_its_spec(ctype: str | None) -> None:
    """A PNG whose IHDR says 0x0 is recognised but no browser decodes it: not an
    image, whatever image/* type it is served as (browsers sniff the bytes)."""
    facts = ContentFacts(
        content_type=ctype, image_format="png", image_invalid="width 0", bytes_read=64
    )
    found = problems(Kind.IMAGE, facts)
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert found[0].message.endswith("but its PNG header is invalid: width 0")
    assert problems(Kind.IMAGE, facts, body_decoded=False) == []


def test_undecodable_bytes_are_not_judged_but_the_content_type_is() -> None:
    """A body whose Content-Encoding failed: its bytes say nothing either way."""
    facts = ContentFacts(content_type="image/jpeg", bytes_read=512)
    assert problems(Kind.IMAGE, facts, body_decoded=False) == []
    found = problems(Kind.IMAGE, replace(facts, content_type="text/html"), body_decoded=False)
    assert codes(found) == [ProblemCode.CONTENT_TYPE_MISMATCH]


def test_no_bytes_read_no_sniffing_verdict() -> None:
    assert problems(Kind.IMAGE, ContentFacts(content_type="image/png", bytes_read=0)) == []


def test_soft_404_on_pages_only() -> None:
    found = problems(Kind.WEB, replace(HTML, soft_404=True))
    assert codes(found) == [ProblemCode.SOFT_404]
    assert problems(Kind.IMAGE, replace(JPEG, soft_404=True)) == []
    assert codes(problems(Kind.AMP, replace(HTML, soft_404=True))) == [ProblemCode.SOFT_404]
    # CONTRACT section 3: soft_404 is judged for web and amp targets only
    assert problems(Kind.CDN, replace(HTML, soft_404=True)) == []


@pytest.mark.parametrize(
    "outcome", [Outcome.NOT_FOUND, Outcome.HTTP_ERROR, Outcome.TIMEOUT, Outcome.RATE_LIMITED]
)
def test_content_is_not_judged_when_there_was_no_content(outcome: Outcome) -> None:
    facts = ContentFacts(content_type="application/json", soft_404=True, bytes_read=10)
    assert problems(Kind.WEB, facts, outcome=outcome) == []
    assert codes(problems(Kind.WEB, facts, outcome=Outcome.MOVED)) == [
        ProblemCode.CONTENT_TYPE_MISMATCH
    ]


@pytest.mark.parametrize(
    ("left", "flagged", "phrase"),
    [
        (timedelta(days=30), False, ""),
        (timedelta(days=14, seconds=1), False, ""),
        (timedelta(days=14), True, "in 14.0 days"),
        (timedelta(days=5, hours=12), True, "in 5.5 days"),
        (timedelta(0), True, "in 0.0 days"),
        (timedelta(days=-2), True, "2.0 days ago"),
    ],
)
def test_certificate_expiring(left: timedelta, flagged: bool, phrase: str) -> None:
    found = problems(Kind.WEB, HTML, cert=NOW + left)
    if not flagged:
        assert found == []
        return
    assert codes(found) == [ProblemCode.CERTIFICATE_EXPIRING]
    assert (NOW + left).strftime("%Y-%m-%d") in found[0].message
    assert phrase in found[0].message


def test_certificate_checked_even_without_content() -> None:
    found = problems(Kind.WEB, HTML, cert=NOW + timedelta(days=1), outcome=Outcome.NOT_FOUND)
    assert codes(found) == [ProblemCode.CERTIFICATE_EXPIRING]


def test_naive_certificate_date_is_utc() -> None:
    naive = (NOW + timedelta(days=3)).replace(tzinfo=None)
    assert "in 3.0 days" in problems(Kind.WEB, HTML, cert=naive)[0].message


def test_slow_response() -> None:
    assert problems(Kind.WEB, HTML, latency_ms=5000.0) == []
    found = problems(Kind.WEB, HTML, latency_ms=7321.4)
    assert codes(found) == [ProblemCode.SLOW_RESPONSE]
    assert "7321 ms" in found[0].message and "5000 ms" in found[0].message
    assert problems(Kind.WEB, HTML, latency_ms=None) == []


def test_problems_accumulate() -> None:
    found = problems(
        Kind.AMP,
        ContentFacts(content_type="text/plain", bytes_read=5),
        latency_ms=9000.0,
        cert=NOW,
    )
    assert codes(found) == [
        ProblemCode.CONTENT_TYPE_MISMATCH,
        ProblemCode.CERTIFICATE_EXPIRING,
        ProblemCode.SLOW_RESPONSE,
    ]


# --- findings ----------------------------------------------------------------------


def result(
    kind: Kind,
    facts: ContentFacts,
    *,
    url: str = AMP,
    outcome: Outcome = Outcome.OK,
    final_url: str | None = None,
    own: list[Problem] | None = None,
) -> CheckResult:
    return CheckResult(
        url=url,
        kind=kind,
        outcome=outcome,
        checked_at=NOW,
        http_status=200,
        final_url=final_url or url,
        facts=facts,
        problems=list(own or []),
    )


def ref(kind: Kind, **expect: object) -> TargetRef:
    return TargetRef("a1", kind, Origin.ARTICLE, Expectation(**expect))  # type: ignore[arg-type]


AMP_OK = ContentFacts(content_type="text/html", is_amp=True, canonical=WEB, bytes_read=3000)


@pytest.mark.parametrize("kind", [Kind.AMP, Kind.CDN])
def test_good_amp_page_has_no_findings(kind: Kind) -> None:
    assert findings(result(kind, AMP_OK), ref(kind, canonical=WEB)) == []


@pytest.mark.parametrize(
    "canonical",
    [
        "HTTPS://NEWS.EXAMPLE/2024/story/",
        "https://news.example:443/2024/story/",
        "https://news.example/2024/story/#top",
    ],
)
def test_equivalent_canonical_forms_match(canonical: str) -> None:
    facts = replace(AMP_OK, canonical=canonical)
    assert findings(result(Kind.AMP, facts), ref(Kind.AMP, canonical=WEB)) == []


def test_canonical_pointing_elsewhere() -> None:
    facts = replace(AMP_OK, canonical="https://news.example/other/")
    found = findings(result(Kind.CDN, facts), ref(Kind.CDN, canonical=WEB))
    assert codes(found) == [ProblemCode.CANONICAL_MISMATCH]
    assert WEB in found[0].message and "https://news.example/other/" in found[0].message


def test_canonical_missing() -> None:
    facts = replace(AMP_OK, canonical=None)
    found = findings(result(Kind.AMP, facts), ref(Kind.AMP, canonical=WEB))
    assert codes(found) == [ProblemCode.CANONICAL_MISMATCH]
    assert "found none" in found[0].message


def test_amp_marker_missing() -> None:
    facts = replace(AMP_OK, is_amp=False)
    found = findings(result(Kind.AMP, facts), ref(Kind.AMP, canonical=WEB))
    assert codes(found) == [ProblemCode.AMP_MARKER_MISSING]


def test_no_html_learnt_no_page_findings() -> None:
    facts = ContentFacts(content_type="application/pdf", bytes_read=10)
    own = [Problem(ProblemCode.CONTENT_TYPE_MISMATCH, "x")]
    found = findings(result(Kind.AMP, facts, own=own), ref(Kind.AMP, canonical=WEB))
    assert found == own


@pytest.mark.parametrize("outcome", [o for o in Outcome if not o.is_up])
def test_only_result_problems_when_the_target_is_down(outcome: Outcome) -> None:
    own = [Problem(ProblemCode.CERTIFICATE_EXPIRING, "soon")]
    facts = replace(AMP_OK, is_amp=False, canonical=None)
    found = findings(
        result(Kind.AMP, facts, outcome=outcome, own=own), ref(Kind.AMP, canonical=WEB)
    )
    assert found == own


def test_result_problems_come_first_and_the_result_is_not_mutated() -> None:
    own = [Problem(ProblemCode.SLOW_RESPONSE, "slow")]
    res = result(Kind.AMP, replace(AMP_OK, is_amp=False), outcome=Outcome.MOVED, own=own)
    found = findings(res, ref(Kind.AMP, canonical=WEB))
    assert codes(found) == [ProblemCode.SLOW_RESPONSE, ProblemCode.AMP_MARKER_MISSING]
    assert res.problems == own


WEB_OK = ContentFacts(content_type="text/html", is_amp=False, amphtml=AMP, canonical=WEB)


def test_web_page_with_the_right_amphtml() -> None:
    assert findings(result(Kind.WEB, WEB_OK, url=WEB), ref(Kind.WEB, amphtml=AMP)) == []


def test_web_page_amphtml_missing_or_different() -> None:
    missing = findings(
        result(Kind.WEB, replace(WEB_OK, amphtml=None), url=WEB), ref(Kind.WEB, amphtml=AMP)
    )
    assert codes(missing) == [ProblemCode.AMPHTML_LINK_MISMATCH]
    assert AMP in missing[0].message and "found none" in missing[0].message
    other = "https://news.example/amp/other"
    wrong = findings(
        result(Kind.WEB, replace(WEB_OK, amphtml=other), url=WEB), ref(Kind.WEB, amphtml=AMP)
    )
    assert codes(wrong) == [ProblemCode.AMPHTML_LINK_MISMATCH]
    assert other in wrong[0].message


def test_article_without_amp_expects_no_amphtml_link() -> None:
    facts = replace(WEB_OK, amphtml="https://news.example/whatever")
    assert findings(result(Kind.WEB, facts, url=WEB), ref(Kind.WEB, amphtml=None)) == []


def test_amp_first_site_needs_no_link_to_itself() -> None:
    facts = replace(WEB_OK, is_amp=True, amphtml=None)
    assert findings(result(Kind.WEB, facts, url=WEB), ref(Kind.WEB, amphtml=WEB)) == []
    # the same page answering after a redirect to the AMP URL
    res = result(Kind.WEB, facts, url="http://news.example/s", final_url=WEB)
    assert findings(res, ref(Kind.WEB, amphtml=WEB)) == []


def test_page_checks_follow_the_reference_kind_not_the_result_kind() -> None:
    # one URL referenced as a web page by one article and as an AMP page by another
    res = result(Kind.WEB, replace(WEB_OK, is_amp=False, canonical=None), url=WEB)
    assert codes(findings(res, ref(Kind.AMP, canonical=WEB))) == [
        ProblemCode.AMP_MARKER_MISSING,
        ProblemCode.CANONICAL_MISMATCH,
    ]


IMG = "https://img.example/a.jpg"


def test_image_dimensions_match() -> None:
    res = result(Kind.IMAGE, JPEG, url=IMG)
    assert findings(res, ref(Kind.IMAGE, width=1200, height=630)) == []


def test_image_dimensions_mismatch_message() -> None:
    res = result(Kind.IMAGE, JPEG, url=IMG)
    found = findings(res, ref(Kind.IMAGE, width=1024, height=568))
    assert found == [
        Problem(ProblemCode.IMAGE_DIMENSIONS_MISMATCH, "declared 1024x568, actual 1200x630")
    ]


@pytest.mark.parametrize(
    ("declared", "actual", "flagged"),
    [
        ((None, None), (1200, 630), False),
        ((1200, None), (1200, 630), False),
        ((1024, None), (1200, 630), True),
        ((1200, 630), (None, None), False),
        ((1200, 630), (1200, None), False),
        ((1200, 630), (1200, 631), True),
    ],
)
def test_image_dimensions_only_compared_where_both_are_known(
    declared: tuple[int | None, int | None],
    actual: tuple[int | None, int | None],
    flagged: bool,
) -> None:
    facts = replace(JPEG, width=actual[0], height=actual[1])
    found = findings(
        result(Kind.IMAGE, facts, url=IMG), ref(Kind.IMAGE, width=declared[0], height=declared[1])
    )
    assert codes(found) == ([ProblemCode.IMAGE_DIMENSIONS_MISMATCH] if flagged else [])
