"""The soft-404 probe's hosts that answered a real 404 stay bounded: a daemon
meeting new hosts without end (documents added and removed every rescan) kept
one entry per host it ever probed, expired or not, for its whole life."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from yarl import URL

from monitor import urls
from monitor.http import probe as probe_module
from monitor.http.attempt import Attempt
from monitor.http.probe import SoftProbe
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome

SHELL = ContentFacts(title="Welcome", h1="Welcome", is_amp=False)


async def not_found(url: URL, kind: Kind) -> Attempt:
    return Attempt(status=404, final_url=urls.redact(str(url)), facts=SHELL)


def page(host: int) -> CheckResult:
    url = f"http://h{host}.test/news/a.html"
    return CheckResult(
        url=url,
        kind=Kind.WEB,
        outcome=Outcome.OK,
        checked_at=datetime(2026, 12, 5, tzinfo=UTC),
        http_status=200,
        final_url=url,
        facts=SHELL,
    )


@pytest.mark.parametrize("step", [0.0, 100.0])  # hosts all live, or expiring
async def test_hosts_that_answered_a_real_404_are_bounded(
    step: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe_module, "MAX_DIRECTORIES", 40)
    clock = [0.0]
    probe = SoftProbe(not_found, random.Random(7), clock=lambda: clock[0], ttl=1000.0)
    most = 0
    for host in range(500):
        clock[0] += step
        await probe.judge(page(host))
        most = max(most, len(probe.real_404_hosts))
    assert probe.sent == 500
    assert most <= 41
    assert ("h499.test", 80) in probe.real_404_hosts  # the newest is kept
    sent = probe.sent
    await probe.judge(page(499))  # and still spares its host a probe
    assert probe.sent == sent
