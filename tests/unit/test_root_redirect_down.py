"""The daemon records redirect_to_root whatever the landing page answered
(CONTRACT 3: "the outcome still follows the final status"): its problem codes
come from the same findings as check's report (tests/acceptance/
test_check_root_redirect_down.py). A link deep by its query alone (`/?p=123`)
sent to the root is one too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.content.drift import PageRules
from monitor.daemon.outcome import problem_codes
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Expectation, Kind, Origin, Outcome, Redirect

DEEP = "https://news.example/2020/04/16/deleted-story/"
HOME = "https://news.example/"


def _result(outcome: Outcome, status: int | None, kind: Kind = Kind.WEB) -> CheckResult:
    return CheckResult(
        url=DEEP,
        kind=kind,
        outcome=outcome,
        checked_at=datetime(2026, 12, 7, tzinfo=UTC),
        http_status=status,
        final_url=HOME,
        redirects=[Redirect(301, HOME)],
    )


def _ref(kind: Kind = Kind.WEB) -> TargetRef:
    return TargetRef("a" * 16, kind, Origin.ARTICLE, Expectation(title="A story"))


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.NOT_FOUND, 404), (Outcome.HTTP_ERROR, 503), (Outcome.RATE_LIMITED, 429)],
)
@pytest.mark.parametrize("kind", [Kind.WEB, Kind.AMP])
def test_a_landing_page_that_fails_is_still_a_root_redirect(
    outcome: Outcome, status: int, kind: Kind
) -> None:
    assert problem_codes(_result(outcome, status, kind), [_ref(kind)]) == ("redirect_to_root",)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.TOO_MANY_REDIRECTS, 301),  # the chain never ended
        (Outcome.TIMEOUT, None),
        (Outcome.CONNECTION_ERROR, None),
        (Outcome.BLOCKED, None),
    ],
)
def test_a_chain_without_a_final_answer_is_not(outcome: Outcome, status: int | None) -> None:
    assert problem_codes(_result(outcome, status), [_ref()]) == ()


def test_not_for_images_cdn_copies_or_when_switched_off() -> None:
    failed = _result(Outcome.NOT_FOUND, 404, Kind.IMAGE)
    assert problem_codes(failed, [_ref(Kind.IMAGE)]) == ()
    assert problem_codes(_result(Outcome.NOT_FOUND, 404, Kind.CDN), [_ref(Kind.CDN)]) == ()
    off = PageRules(root=False)
    assert problem_codes(_result(Outcome.NOT_FOUND, 404), [_ref()], off) == ()


@pytest.mark.parametrize(
    ("url", "final", "flagged"),
    [
        ("https://news.example/?p=123", "https://news.example/", True),
        ("https://news.example/index.php?id=55", "https://news.example/index.php", True),
        ("https://news.example/?p=123", "https://news.example/en/", True),
        ("http://news.example/?p=123", "https://news.example/?p=123", False),  # same page
        ("https://news.example/?utm_source=feed", "https://news.example/", False),
        ("https://news.example/?", "https://news.example/", False),
        ("https://news.example/", "https://news.example/en/", False),
        ("https://news.example/?p=123", "https://news.example/2020/04/story/", False),
    ],
)
def test_a_link_deep_by_its_query(url: str, final: str, flagged: bool) -> None:
    result = CheckResult(
        url=url,
        kind=Kind.WEB,
        outcome=Outcome.MOVED,
        checked_at=datetime(2026, 12, 7, tzinfo=UTC),
        http_status=200,
        final_url=final,
        redirects=[Redirect(301, final)],
    )
    want = ("redirect_to_root",) if flagged else ()
    assert problem_codes(result, [_ref()]) == want
