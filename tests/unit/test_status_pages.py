"""Pure helpers of the status pages: which URLs become links, ages, the chart."""

from __future__ import annotations

from monitor.observe.status.chart import latency_chart
from monitor.observe.status.pages import age, base_path, safe_href


def test_only_http_urls_become_links() -> None:
    assert safe_href("https://news.test/a?b='c'") == "https://news.test/a?b='c'"
    assert safe_href("HTTP://news.test/") == "HTTP://news.test/"
    for bad in (
        "javascript:alert(1)",
        " javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>",
        "vbscript:x",
        "//evil.test/",
        "/relative",
        "",
        None,
        "http://[::1",  # urlsplit raises
    ):
        assert safe_href(bad) is None, bad


def test_ages() -> None:
    now = 1_700_000_000.0
    assert age(None, now) == "never"
    assert age("2023-11-14T22:13:20.000Z", now) == "0 s ago"
    assert age("2023-11-14T22:12:20.000Z", now) == "60 s ago"
    assert age("2023-11-14T21:13:20.000Z", now) == "60 min ago"
    assert age("2023-11-12T22:13:20.000Z", now) == "2 days ago"
    # a stamp ahead of the clock is never negative, nor "0 s ago" (it looked just done):
    # said ahead from 90 s on (tests/integration/test_status_pages_future_times.py)
    assert age("2030-01-01T00:00:00.000Z", now) == "2239 days from now"
    assert age("2023-11-14T22:14:00.000Z", now) == "0 s ago"  # 40 s ahead: clocks apart


def test_base_path_follows_public_url() -> None:
    assert base_path(None) == ""
    assert base_path("https://status.example") == ""
    assert base_path("https://status.example/monitor/") == "/monitor"


def _result(outcome: str, latency: int | None) -> dict[str, object]:
    return {"outcome": outcome, "latency_ms": latency}


def test_chart_draws_answered_checks_as_dots_and_failures_as_crosses() -> None:
    assert latency_chart([]) is None
    chart = latency_chart(
        [_result("ok", 120), _result("timeout", None), _result("not_found", 30), _result("ok", 80)]
    )
    assert chart is not None
    assert len(chart.dots) == 2 and len(chart.crosses) == 2
    assert chart.top_ms == 200
    xs = [x for x, _ in chart.dots + chart.crosses]
    assert min(xs) >= chart.left and max(xs) <= chart.right
    ys = [y for _, y in chart.dots]
    assert all(12 <= y <= chart.baseline for y in ys)
    assert "2 failed" in chart.summary and "median latency 120 ms" in chart.summary


def test_chart_of_one_failed_check() -> None:
    chart = latency_chart([_result("dns_error", None)])
    assert chart is not None and chart.line == "" and chart.summary == "1 check, all failed"


def _render(source: str, **context: object) -> str:
    from monitor.observe.status.pages import StatusPages

    class Open:
        def allows(self, header: str) -> bool:
            return True

        def challenge(self) -> str:
            return ""

    pages = StatusPages(None, Open())  # type: ignore[arg-type]  # no read is made
    return pages.env.from_string(source).render(**context)


def test_a_macro_with_kept_typography_is_markup_not_text() -> None:
    """A joiner in a URL is kept (the pages keep a headline's typography), so the
    external-link macro's output is not all printable: finalize spelled it again as
    a plain string and autoescaping showed the link's own tags as text."""
    url = "https://news.test/a\u200cb"
    html = _render('{% from "macros.html" import external %}{{ external(u) }}', u=url)
    assert html.startswith('<a class="external" href=')
    assert f">{url}</a>" in html


def test_a_link_goes_where_its_url_says_while_its_text_is_spelled() -> None:
    """An override in a URL is spelled in the link's text but not in its href: the
    browser percent-encodes it there, where a spelled `\\u202e` led to another URL."""
    url = "https://news.test/\u202eevil"
    html = _render('{% from "macros.html" import external %}{{ external(u) }}', u=url)
    assert f'href="{url}"' in html
    assert ">https://news.test/\\u202eevil</a>" in html
