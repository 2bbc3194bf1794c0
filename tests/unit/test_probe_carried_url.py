"""The engine hands the soft-404 probe the URL it requested (no second parse): the
probe must judge and ask exactly as it does from the result's (redacted) final URL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from yarl import URL

from monitor import urls
from monitor.http.attempt import Attempt
from monitor.http.probe import SoftProbe
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome

SHELL = ContentFacts(title="Welcome", h1="Welcome", is_amp=False)


class Host:
    def __init__(self, status: int) -> None:
        self.status = status
        self.sent: list[str] = []

    async def attempt(self, url: URL, kind: Kind) -> Attempt:
        self.sent.append(urls.redact(str(url)))
        return Attempt(status=self.status, final_url=urls.redact(str(url)), facts=SHELL)


async def judged(requested: str, status: int, carry: bool) -> tuple[list[str], list[str]]:
    host = Host(status)
    probe = SoftProbe(host.attempt, random.Random(7))
    url = URL(requested, encoded=True)
    result = CheckResult(
        url=requested,
        kind=Kind.WEB,
        outcome=Outcome.OK,
        checked_at=datetime(2026, 12, 5, tzinfo=UTC),
        http_status=200,
        final_url=urls.redact(str(url)),
        facts=SHELL,
    )
    await probe.judge(result, url if carry else None)
    return [p.message for p in result.problems], host.sent


@pytest.mark.parametrize(
    "requested",
    [
        "http://a.test/news/a.html",
        "https://a.test:8443/news/b?x=1#f",
        "http://user:pw@a.test/news/c?token=t0k&y=2",
        "http://a.test/",
        "http://a.test/%7Euser/p%20q",
    ],
)
@pytest.mark.parametrize("status", [200, 404])
async def test_the_carried_url_judges_as_the_parsed_final_url(requested: str, status: int) -> None:
    carried = await judged(requested, status, carry=True)
    assert carried == await judged(requested, status, carry=False)
    if URL(requested).path != "/":  # the root is never probed
        assert bool(carried[0]) is (status == 200) and len(carried[1]) == 1


@pytest.mark.parametrize(
    ("kind", "outcome", "facts", "wanted"),
    [
        (Kind.WEB, Outcome.OK, SHELL, True),
        (Kind.AMP, Outcome.MOVED, SHELL, True),
        (Kind.CDN, Outcome.OK, SHELL, False),  # AMP-cache copies are not judged
        (Kind.IMAGE, Outcome.OK, ContentFacts(), False),
        (Kind.WEB, Outcome.NOT_FOUND, SHELL, False),
        (Kind.WEB, Outcome.OK, ContentFacts(is_amp=None), False),  # not parsed as HTML
    ],
)
async def test_the_engine_skips_judge_exactly_where_it_judges_nothing(
    kind: Kind, outcome: Outcome, facts: ContentFacts, wanted: bool
) -> None:
    host = Host(200)
    probe = SoftProbe(host.attempt, random.Random(7))
    result = CheckResult(
        url="http://a.test/news/a.html",
        kind=kind,
        outcome=outcome,
        checked_at=datetime(2026, 12, 5, tzinfo=UTC),
        http_status=200,
        final_url="http://a.test/news/a.html",
        facts=facts,
    )
    assert probe.wants(result) is wanted
    await probe.judge(result)
    assert bool(host.sent) is wanted  # judge itself asks the same question
