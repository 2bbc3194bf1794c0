"""The daemon records redirect_to_root whatever the landing page answered
(CONTRACT 3: "the outcome still follows the final status"): its problem codes
come from the same findings as check's report (tests/acceptance/
test_check_root_redirect_down.py)."""

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
