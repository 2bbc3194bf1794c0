"""`grafana push` against a Grafana (respx) that rate-limits: 429 with Retry-After.

A push of a dozen objects that met a rate limit failed half done, though the
answer said when to come back. A wait it can afford is now waited out (no
real sleep here: the module's `sleep` is replaced), a longer one reported
with the time to push again, and the tries are bounded.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from test_grafana_push import TOKEN, URL, FakeGrafana

from monitor.grafana import push as push_module
from monitor.grafana.push import TRIES_429, PushError, client, push


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(push_module, "sleep", waits.append)
    return waits


def limited(then: Any, retry_after: str | None, times: int) -> Any:
    """A route side effect: `times` answers 429, then what `then` answers."""
    seen = {"n": 0}

    def answer(request: httpx.Request, **kw: Any) -> httpx.Response:
        seen["n"] += 1
        if seen["n"] <= times:
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            return httpx.Response(429, headers=headers, json={"message": "too many requests"})
        result: httpx.Response = then(request, **kw)
        return result

    answer.seen = seen  # type: ignore[attr-defined]
    return answer


def test_a_write_answered_429_is_sent_again_after_the_wait_asked(slept: list[float]) -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeGrafana(router)
        side = limited(fake.post_dashboard, "2", times=2)
        router.post(f"{URL}/api/dashboards/db").mock(side_effect=side)
        with client(URL, TOKEN) as http:
            report = push(http)
    assert slept == [2.0, 2.0]
    assert "dashboard article-monitor" in report.created
    assert fake.dashboards and not any("429" in w for w, _ in fake.writes)


def test_a_429_without_retry_after_waits_a_little_then_goes_on(slept: list[float]) -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeGrafana(router)
        router.get(f"{URL}/api/health").mock(side_effect=limited(fake.health, None, times=1))
        with client(URL, TOKEN) as http:
            push(http)
    assert slept == [push_module.WAIT_UNSAID]


def test_a_wait_too_long_is_reported_with_the_time_to_push_again(slept: list[float]) -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeGrafana(router)
        router.get(f"{URL}/api/health").mock(side_effect=limited(fake.health, "3600", times=1))
        with client(URL, TOKEN) as http, pytest.raises(PushError) as err:
            push(http)
    assert slept == []
    text = str(err.value)
    assert "HTTP 429" in text and "rate-limiting" in text and "in 3600 s" in text
    assert TOKEN not in text


def test_a_grafana_that_always_answers_429_is_given_up_after_a_bounded_number_of_tries(
    slept: list[float],
) -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeGrafana(router)
        side = limited(fake.health, "1", times=10**6)
        router.get(f"{URL}/api/health").mock(side_effect=side)
        with client(URL, TOKEN) as http, pytest.raises(PushError) as err:
            push(http)
    assert side.seen["n"] == TRIES_429 and len(slept) == TRIES_429 - 1
    assert "HTTP 429" in str(err.value)


def test_a_retry_after_date_is_read_as_a_wait() -> None:
    request = httpx.Request("GET", f"{URL}/api/health")
    past = httpx.Response(
        429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, request=request
    )
    assert push_module._wait_asked(past) == 0.0
    junk = httpx.Response(429, headers={"Retry-After": "soon\x1b[2J"}, request=request)
    assert push_module._wait_asked(junk) is None
