"""Every outcome and every problem code, end to end through `article-monitor check`.

One corpus whose targets between them trigger every outcome (CONTRACT
section 3) and every target-level problem code is checked ONCE by the real
command line (a subprocess), against real loopback HTTP and TLS servers
(aiohttp; certificates made by the tests with `cryptography`). Public-looking
names reach the servers through `--connect-to` rules, so Host, SNI and
certificate names are realistic. The same corpus is checked at the same
time with `--format junit`. The article-level codes come from a second,
offline corpus. The assertions are many small parametrized checks over the
parsed reports, so a failure names the one behaviour that broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from aiohttp import web
from support.certs import CertAuthority
from support.images import png
from support.pages import page
from support.report_schema import assert_valid_report
from support.servers import RawConn, app_server, raw_server, refusing_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "monitor"]
CDN_HOST = "news-example.cdn.ampproject.org"
CDN = f"https://{CDN_HOST}/c/news.example"
NEWS = "http://news.example"
IMG = "http://img.example"
TIMEOUT_S = 2.0  # --timeout; the sleeping handler outlasts it
LATENCY_BUDGET_MS = 700  # the slow handler answers after SLOW_S, everything else at once
SLOW_S = 1.0
MAX_REDIRECTS = 3
RETRY_AFTER_S = 1  # the 429's Retry-After; the retry must wait at least this long

# Ports in the URLs select the TLS server (connect-to matches HOST:PORT);
# nothing listens on them, the rules reroute every one.
TLS_PORTS = {"expired": 8441, "wrong_host": 8442, "untrusted": 8443, "soon": 8444, "valid": 8445}


# --------------------------------------------------------------------------- content


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


async def handler(request: web.Request) -> web.StreamResponse:
    """One host-agnostic site: every public-looking name is routed here by path."""
    path = request.path
    if path.startswith("/c/news.example/"):  # the AMP cache copy serves the origin's page
        path = path.removeprefix("/c/news.example")
    if path == "/canon/amp":
        return html(page(amp=True, canonical=f"{NEWS}/elsewhere"))
    if path == "/plain/amp":
        return html(page(amp=False, canonical=f"{NEWS}/plain"))
    if path.endswith("/amp"):
        return html(page(amp=True, canonical=NEWS + path.removesuffix("/amp")))
    if path == "/amphtml-off":
        return html(page(amphtml=f"{NEWS}/not-the-amp-page"))
    if path == "/json":
        return web.json_response({"story": "not a page"})
    if path == "/soft":
        return html(page(title="Page not found"))
    if path in ("/pic.png", "/big.png"):
        return web.Response(body=png(40, 30), content_type="image/png")
    if path == "/not-image.png":
        return html(page())
    if path == "/old301":
        raise web.HTTPMovedPermanently(f"{NEWS}/new")
    if path == "/old308":
        raise web.HTTPPermanentRedirect(f"{NEWS}/new")
    if path == "/temp302":
        raise web.HTTPFound(f"{NEWS}/new")
    if path == "/gone404":
        raise web.HTTPNotFound()
    if path == "/gone410":
        raise web.HTTPGone()
    if path == "/forbidden":
        raise web.HTTPForbidden()
    if path == "/broken":
        return web.Response(status=500, text="oops")
    if path == "/unavailable":
        return web.Response(status=503, text="later")
    if path == "/limited":
        return web.Response(
            status=429, text="slow down", headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    if path == "/sleep":
        await asyncio.sleep(TIMEOUT_S + 0.5)
        return html(page())
    if path == "/slow":
        await asyncio.sleep(SLOW_S)
        return html(page())
    if path == "/loop/a":
        raise web.HTTPFound(f"{NEWS}/loop/b")
    if path == "/loop/b":
        raise web.HTTPMovedPermanently(f"{NEWS}/loop/a")
    if path.startswith("/chain/"):
        n = int(path.rsplit("/", 1)[1])
        if n <= MAX_REDIRECTS + 2:  # two hops more than the limit, then content
            raise web.HTTPFound(f"{NEWS}/chain/{n + 1}")
        return html(page())
    if path == "/to-private":
        raise web.HTTPFound("http://127.0.0.3:9/secret")
    # each story has its own title, as real ones do: the soft-404 probe's
    # random path gets a page, but not the same page
    return html(page(amphtml=NEWS + path.rstrip("/") + "/amp", title=f"Story at {path}"))


Log = dict[str, list[float]]  # "host[:port]/path" -> monotonic times of the requests


def logged_routes(log: Log) -> list[web.RouteDef]:
    """The site, writing down when each request arrived (to count attempts server-side)."""

    async def logged(request: web.Request) -> web.StreamResponse:
        log.setdefault(request.host + request.path, []).append(time.monotonic())
        return await handler(request)

    return [web.route("*", "/{tail:.*}", logged)]


# --------------------------------------------------------------------------- corpus


def art(web_url: str, **extra: Any) -> dict[str, Any]:
    """A statically clean article: title, date, provider domain = host of webUrl."""
    host = urlsplit(web_url).hostname
    base: dict[str, Any] = {
        "title": f"Story at {web_url}",
        "publishedDateTime": "2020-04-16T19:08:00Z",
        "webUrl": web_url,
        "provider": {"name": "News", "domain": host},
    }
    base.update(extra)
    return base


def with_amp(web_url: str) -> dict[str, Any]:
    path = urlsplit(web_url).path
    return art(web_url, ampWebUrl=f"{web_url}/amp", cdnAmpWebUrl=f"{CDN}{path}/amp")


def image(url: str, width: int = 40, height: int = 30) -> dict[str, Any]:
    return {"url": url, "width": width, "height": height}


def tls_url(name: str) -> str:
    return f"https://news.example:{TLS_PORTS[name]}/"


@dataclass(frozen=True)
class Case:
    """What one target of one article must look like in the report."""

    article: str  # webUrl of the article
    url: str
    kind: str
    outcome: str
    codes: frozenset[str] = field(default_factory=frozenset)
    attempts: int | None = None  # asserted when given
    status: int | None = None  # http_status, asserted when given

    @property
    def healthy(self) -> bool:
        return self.outcome in ("ok", "moved") and not self.codes

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.url}" + ("" if self.url == self.article else f"@{self.article}")


def case(
    article: str,
    url: str | None = None,
    kind: str = "web",
    outcome: str = "ok",
    *codes: str,
    attempts: int | None = None,
    status: int | None = None,
) -> Case:
    return Case(article, url or article, kind, outcome, frozenset(codes), attempts, status)


STORY, CANON, PLAIN, AMPHTML = (f"{NEWS}/{p}" for p in ("story", "canon", "plain", "amphtml-off"))
JSON_PAGE, SOFT, PRIVATE = f"{NEWS}/json", f"{NEWS}/soft", f"{NEWS}/to-private"
SLOW = "http://slow.example/slow"
DIRECT_PRIVATE = "http://127.0.0.3:9/direct.png"
FTP_IMAGE = "ftp://img.example/x.png"

ARTICLES: list[dict[str, Any]] = [
    {**with_amp(STORY), "images": [image(f"{IMG}/pic.png")]},
    with_amp(CANON),
    with_amp(PLAIN),
    with_amp(AMPHTML),
    art(
        JSON_PAGE,
        images=[
            image(f"{IMG}/not-image.png"),
            image(f"{IMG}/big.png", width=99),
            image(FTP_IMAGE),
        ],
    ),
    art(SOFT),
    art(f"{NEWS}/old301"),
    art(f"{NEWS}/old308"),
    art(f"{NEWS}/temp302"),
    art(f"{NEWS}/gone404"),
    art(f"{NEWS}/gone410"),
    art(f"{NEWS}/forbidden"),
    art(f"{NEWS}/broken"),
    art(f"{NEWS}/unavailable"),
    art(f"{NEWS}/limited"),
    art("http://timeout.example/sleep"),
    art("http://nowhere.invalid/"),
    art("http://refused.example/"),
    art("http://closes.example/"),
    *(art(tls_url(name)) for name in TLS_PORTS),
    art(f"{NEWS}/loop/a"),
    art(f"{NEWS}/chain/1"),
    art(PRIVATE, images=[image(DIRECT_PRIVATE)]),
    art(SLOW),
]


def amp_cases(web_url: str, web_codes: tuple[str, ...], amp_codes: tuple[str, ...]) -> list[Case]:
    path = urlsplit(web_url).path
    return [
        case(web_url, None, "web", "ok", *web_codes, attempts=1),
        case(web_url, f"{web_url}/amp", "amp", "ok", *amp_codes, attempts=1),
        case(web_url, f"{CDN}{path}/amp", "cdn", "ok", *amp_codes, attempts=1),
    ]


CASES: list[Case] = [
    *amp_cases(STORY, (), ()),
    case(STORY, f"{IMG}/pic.png", "image", "ok", attempts=1, status=200),
    *amp_cases(CANON, (), ("canonical_mismatch",)),
    *amp_cases(PLAIN, (), ("amp_marker_missing",)),
    *amp_cases(AMPHTML, ("amphtml_link_mismatch",), ()),
    case(JSON_PAGE, None, "web", "ok", "content_type_mismatch"),
    case(JSON_PAGE, f"{IMG}/not-image.png", "image", "ok", "content_type_mismatch"),
    case(JSON_PAGE, f"{IMG}/big.png", "image", "ok", "image_dimensions_mismatch"),
    case(JSON_PAGE, FTP_IMAGE, "image", "invalid_url", attempts=0),
    case(SOFT, None, "web", "ok", "soft_404", status=200),
    case(f"{NEWS}/old301", None, "web", "moved", status=200),
    case(f"{NEWS}/old308", None, "web", "moved", status=200),
    case(f"{NEWS}/temp302", None, "web", "ok", status=200),
    case(f"{NEWS}/gone404", None, "web", "not_found", status=404),
    case(f"{NEWS}/gone410", None, "web", "not_found", status=410),
    case(f"{NEWS}/forbidden", None, "web", "http_error", attempts=1, status=403),
    case(f"{NEWS}/broken", None, "web", "http_error", attempts=1, status=500),  # not transient
    case(f"{NEWS}/unavailable", None, "web", "http_error", attempts=2, status=503),
    case(f"{NEWS}/limited", None, "web", "rate_limited", attempts=2, status=429),
    case("http://timeout.example/sleep", None, "web", "timeout", attempts=2),
    case("http://nowhere.invalid/", None, "web", "dns_error", attempts=1),
    case("http://refused.example/", None, "web", "connection_error", attempts=1),
    case("http://closes.example/", None, "web", "connection_error", attempts=2),
    case(tls_url("expired"), None, "web", "tls_error", attempts=1),
    case(tls_url("wrong_host"), None, "web", "tls_error", attempts=1),
    case(tls_url("untrusted"), None, "web", "tls_error", attempts=1),
    case(tls_url("soon"), None, "web", "ok", "certificate_expiring", attempts=1),
    case(tls_url("valid"), None, "web", "ok", attempts=1, status=200),
    case(f"{NEWS}/loop/a", None, "web", "too_many_redirects"),
    case(f"{NEWS}/chain/1", None, "web", "too_many_redirects"),
    case(PRIVATE, None, "web", "blocked"),
    case(PRIVATE, DIRECT_PRIVATE, "image", "blocked", attempts=0),
    case(SLOW, None, "web", "ok", "slow_response", attempts=1),
]

# Article-level problems expected in the network corpus (everything else is clean).
NETWORK_ARTICLE_CODES = {JSON_PAGE: {"invalid_url"}}  # the ftp:// image URL

ALL_OUTCOMES = {
    "ok",
    "moved",
    "not_found",
    "http_error",
    "rate_limited",
    "timeout",
    "dns_error",
    "connection_error",
    "tls_error",
    "too_many_redirects",
    "blocked",
    "invalid_url",
}
TARGET_CODES = {
    "canonical_mismatch",
    "amp_marker_missing",
    "amphtml_link_mismatch",
    "content_type_mismatch",
    "image_dimensions_mismatch",
    "soft_404",
    "certificate_expiring",
    "slow_response",
}


TIMED_OUT = "http://timeout.example/sleep"


def params(cases: list[Case]) -> list[Any]:
    """`cases` as pytest params named by their ids."""
    return [pytest.param(c, id=c.id) for c in cases]


def test_the_matrix_covers_every_outcome_and_target_code() -> None:
    assert {c.outcome for c in CASES} == ALL_OUTCOMES
    assert set().union(*(c.codes for c in CASES)) == TARGET_CODES
    assert len({(c.article, c.url) for c in CASES}) == len(CASES)
    assert {c.article for c in CASES} == {a["webUrl"] for a in ARTICLES}


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stderr: str
    junit_code: int
    junit: ElementTree.Element
    targets: dict[tuple[str, str], dict[str, Any]]  # (article webUrl, target url) -> target
    articles: dict[str, dict[str, Any]]  # webUrl -> article
    log: Log  # what the servers saw during the JSON run


Output = tuple[int, str, str]  # exit code, stdout, stderr


async def run_cli(*args: str, limit: float = 60) -> Output:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def check_matrix(directory: Path, pki: Any, fmt: str) -> tuple[Output, Log]:
    """Start the servers, check the corpus once in `fmt`, return the CLI's output and
    what the servers saw. Each format gets its own servers, so the counts are per run."""
    log: Log = {}
    routes = logged_routes(log)

    async def close_before_responding(conn: RawConn) -> None:
        await conn.read_request()  # then the handler returns and the connection is closed
        log.setdefault("closes.example/", []).append(time.monotonic())

    cdn_ca = CertAuthority(directory / "cdn-ca", "matrix CDN CA")
    bundle = directory / "bundle.pem"
    bundle.write_bytes(pki.ca_file.read_bytes() + cdn_ca.cert_file.read_bytes())
    leaves = {
        "expired": pki.expired,
        "wrong_host": pki.wrong_host,
        "untrusted": pki.untrusted,
        "soon": pki.expiring_soon,
        "valid": pki.valid,
    }
    corpus = directory / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "matrix.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    config = directory / "matrix.toml"
    config.write_text(
        f"latency_budget_ms = {LATENCY_BUDGET_MS}\n"
        f"max_redirects = {MAX_REDIRECTS}\n"
        "backoff_base = 0.05\nbackoff_max = 0.1\nconnect_timeout = 1.0\n"
    )
    async with contextlib.AsyncExitStack() as stack:
        plain = await stack.enter_async_context(app_server(routes))
        cdn = await stack.enter_async_context(
            app_server(routes, ssl_context=cdn_ca.issue([CDN_HOST], label="cdn").server_context())
        )
        tls = {
            name: await stack.enter_async_context(
                app_server(routes, ssl_context=leaf.server_context())
            )
            for name, leaf in leaves.items()
        }
        closes = await stack.enter_async_context(raw_server(close_before_responding))
        refused = stack.enter_context(refusing_port())
        rules = [f"{CDN_HOST}:443:127.0.0.1:{cdn.port}"]
        rules += [f"news.example:{TLS_PORTS[n]}:127.0.0.1:{srv.port}" for n, srv in tls.items()]
        rules += [
            f"refused.example::127.0.0.1:{refused}",
            f"closes.example::127.0.0.1:{closes.port}",
        ]
        rules += [
            f"{host}::127.0.0.1:{plain.port}"
            for host in ("news.example", "img.example", "slow.example", "timeout.example")
        ]
        args = [
            "check",
            str(corpus),
            "--config",
            str(config),
            "--ca-bundle",
            str(bundle),
            # Only the one loopback address the rules lead to: 127.0.0.3 stays blocked.
            "--allow-network",
            "127.0.0.1/32",
            "--timeout",
            str(TIMEOUT_S),
            "--retries",
            "1",
            *(a for rule in rules for a in ("--connect-to", rule)),
        ]
        return await run_cli(*args, "--format", fmt), log


async def check_offline(directory: Path) -> tuple[Output, Output]:
    args = await prepare_offline(directory)
    as_json, as_junit = await asyncio.gather(
        run_cli(*args, "--format", "json"), run_cli(*args, "--format", "junit")
    )
    return as_json, as_junit


async def check_all(
    directory: Path, pki: Any
) -> tuple[tuple[Output, Log], tuple[Output, Log], tuple[Output, Output]]:
    """All the CLI runs at once: the matrix (JSON, JUnit) and the offline corpus (same)."""
    return await asyncio.gather(
        check_matrix(directory / "json", pki, "json"),
        check_matrix(directory / "junit", pki, "junit"),
        check_offline(directory / "articles"),
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, pki: Any) -> tuple[dict[str, Output], Log]:
    """Every CLI run of this module, made once per module (per xdist worker), and what
    the servers saw during the JSON run."""
    (as_json, log), (as_junit, _), (off_json, off_junit) = asyncio.run(
        check_all(tmp_path_factory.mktemp("matrix"), pki)
    )
    runs = {"json": as_json, "junit": as_junit, "offline": off_json, "offline-junit": off_junit}
    return runs, log


@pytest.fixture(scope="module")
def run(outputs: tuple[dict[str, Output], Log]) -> Run:
    """The matrix corpus checked once in JSON and once in JUnit, servers up meanwhile."""
    runs, log = outputs
    code, out, err = runs["json"]
    jcode, jout, jerr = runs["junit"]
    assert out, err
    assert jout, jerr
    report = json.loads(out)
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    for a in report["articles"]:
        for t in a["targets"]:
            assert (a["webUrl"], t["url"]) not in targets
            targets[(a["webUrl"], t["url"])] = t
    articles = {a["webUrl"]: a for a in report["articles"]}
    return Run(code, report, err, jcode, ElementTree.fromstring(jout), targets, articles, log)


# --------------------------------------------------------------------------- per target


def target(run: Run, c: Case) -> dict[str, Any]:
    t = run.targets.get((c.article, c.url))
    assert t is not None, f"{c.url} missing from the report of {c.article}"
    return t


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_outcome(run: Run, c: Case) -> None:
    t = target(run, c)
    assert t["outcome"] == c.outcome, t


@pytest.mark.parametrize("c", params(CASES))
def test_problem_codes(run: Run, c: Case) -> None:
    t = target(run, c)
    assert {p["code"] for p in t["problems"]} == c.codes, t


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_kind_and_origin(run: Run, c: Case) -> None:
    t = target(run, c)
    assert (t["kind"], t["origin"]) == (c.kind, "article")


@pytest.mark.parametrize("c", params([c for c in CASES if c.attempts is not None]))
def test_attempts(run: Run, c: Case) -> None:
    """1 for a success or a permanent failure; 2 (--retries 1) for a transient one."""
    assert target(run, c)["attempts"] == c.attempts


@pytest.mark.parametrize("c", [c for c in CASES if c.status is not None], ids=lambda c: c.id)
def test_http_status(run: Run, c: Case) -> None:
    assert target(run, c)["http_status"] == c.status


@pytest.mark.parametrize(
    "c",
    [c for c in CASES if c.outcome in ("ok", "moved") and c.kind != "image"],
    ids=lambda c: c.id,
)
def test_up_targets_have_latency_and_no_error(run: Run, c: Case) -> None:
    t = target(run, c)
    assert t["error"] is None and t["latency_ms"] is not None and t["latency_ms"] >= 0


@pytest.mark.parametrize(
    "c", [c for c in CASES if c.outcome not in ("ok", "moved")], ids=lambda c: c.id
)
def test_down_targets_say_why(run: Run, c: Case) -> None:
    """A failure without a final 2xx carries a human-readable reason or a status."""
    t = target(run, c)
    assert t["error"] or t["http_status"], t


@pytest.mark.parametrize(("source", "status"), [("old301", 301), ("old308", 308), ("temp302", 302)])
def test_redirect_hops_recorded(run: Run, source: str, status: int) -> None:
    t = run.targets[(f"{NEWS}/{source}", f"{NEWS}/{source}")]
    assert t["redirects"] == [{"status": status, "location": f"{NEWS}/new"}]
    assert t["final_url"] == f"{NEWS}/new"


def test_redirect_loop_and_long_chain_stop_at_the_limit(run: Run) -> None:
    chain = run.targets[(f"{NEWS}/chain/1", f"{NEWS}/chain/1")]
    assert len(chain["redirects"]) <= MAX_REDIRECTS + 1
    loop = run.targets[(f"{NEWS}/loop/a", f"{NEWS}/loop/a")]
    assert len(loop["redirects"]) <= MAX_REDIRECTS + 1


def test_blocked_redirect_names_the_private_hop(run: Run) -> None:
    t = run.targets[(PRIVATE, PRIVATE)]
    assert [h["status"] for h in t["redirects"]] == [302]
    assert "127.0.0.3" in (t["error"] or "") + json.dumps(t["redirects"])


def test_slow_response_latency_is_over_the_budget(run: Run) -> None:
    slow = run.targets[(SLOW, SLOW)]
    assert slow["latency_ms"] >= SLOW_S * 1000 * 0.9


# --------------------------------------------------------------------------- server side


@pytest.mark.parametrize(
    ("key", "requests"),
    [
        ("news.example/story", 1),
        ("img.example/pic.png", 1),
        ("news.example/forbidden", 1),
        ("news.example/broken", 1),  # 500 is not transient
        ("news.example/unavailable", 2),
        ("news.example/limited", 2),
        ("timeout.example/sleep", 2),
        ("closes.example/", 2),  # no hidden resend on a fresh connection
        ("news.example/new", 3),  # the target of the 301, the 308 and the 302
        ("news.example/to-private", 1),
        (f"news.example:{TLS_PORTS['soon']}/", 1),
        (f"news.example:{TLS_PORTS['valid']}/", 1),
    ],
)
def test_requests_the_servers_saw(run: Run, key: str, requests: int) -> None:
    """`attempts` is what happened on the wire, not only what the report claims."""
    assert len(run.log.get(key, [])) == requests, sorted(run.log)


@pytest.mark.parametrize("name", ["expired", "wrong_host", "untrusted"])
def test_no_request_is_sent_over_a_rejected_certificate(run: Run, name: str) -> None:
    assert f"news.example:{TLS_PORTS[name]}/" not in run.log


def test_retry_after_is_honoured(run: Run) -> None:
    first, second = run.log["news.example/limited"]
    assert second - first >= RETRY_AFTER_S * 0.9


# --------------------------------------------------------------------------- whole report


def test_no_unexpected_targets(run: Run) -> None:
    assert set(run.targets) == {(c.article, c.url) for c in CASES}


@pytest.mark.parametrize("web_url", [a["webUrl"] for a in ARTICLES])
def test_article_level_problems(run: Run, web_url: str) -> None:
    article = run.articles[web_url]
    codes = {p["code"] for p in article["problems"]}
    assert codes == NETWORK_ARTICLE_CODES.get(web_url, set()), article["problems"]
    assert article["signature"]["status"] in ("unverified", "missing")


def test_exit_code_and_summary(run: Run) -> None:
    assert run.code == 1, run.stderr
    s = run.report["summary"]
    assert s["by_outcome"] == dict(Counter(c.outcome for c in CASES))
    assert s["targets"] == len(CASES)
    assert s["articles"] == len(ARTICLES)
    assert s["ok"] == sum(c.healthy for c in CASES)
    assert s.get("incomplete") is not True
    assert s["invalid_documents"] == 0 and run.report["invalid_documents"] == []


def test_summary_problem_count(run: Run) -> None:
    s = run.report["summary"]
    # findings: every down target, every target problem, every article problem
    expected = sum(c.outcome not in ("ok", "moved") for c in CASES)
    expected += sum(len(c.codes) for c in CASES)
    expected += sum(len(v) for v in NETWORK_ARTICLE_CODES.values())
    assert s["problems"] == expected


def test_stdout_is_only_the_report(run: Run) -> None:
    assert run.report["version"] == 1  # json.loads of the whole stdout already succeeded


def test_reports_match_the_published_schema(run: Run, offline: Offline) -> None:
    assert_valid_report(run.report)  # every outcome and problem code in one report
    assert_valid_report(offline.report)


# --------------------------------------------------------------------------- JUnit


def junit_targets(run: Run) -> dict[tuple[str, str], ElementTree.Element]:
    cases: dict[tuple[str, str], ElementTree.Element] = {}
    for tc in run.junit.iter("testcase"):
        classname, name = tc.get("classname", ""), tc.get("name", "")
        if name in ("static checks", "signature"):
            continue
        article, _, kind = classname.rpartition(".")
        assert kind in ("web", "amp", "cdn", "image"), classname
        cases[(article, name)] = tc
    return cases


def test_junit_has_one_testcase_per_target(run: Run) -> None:
    assert run.junit_code == 1
    assert run.junit.tag == "testsuites"
    assert set(junit_targets(run)) == {(c.article, c.url) for c in CASES}


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_junit_failure_per_unhealthy_target(run: Run, c: Case) -> None:
    tc = junit_targets(run)[(c.article, c.url)]
    failures = tc.findall("failure")
    if c.healthy:
        assert failures == []
        return
    assert len(failures) == 1
    failure = failures[0]
    assert failure.get("type") == c.outcome
    assert f"outcome {c.outcome}" in failure.get("message", "")
    for code in c.codes:
        assert code in failure.get("message", "")


def test_junit_totals(run: Run) -> None:
    unhealthy = sum(not c.healthy for c in CASES)
    static = len(NETWORK_ARTICLE_CODES)  # one "static checks" failure per such article
    assert int(run.junit.get("failures", "-1")) == unhealthy + static
    assert len(list(run.junit.iter("failure"))) == unhealthy + static


# --------------------------------------------------------------------------- article level


ARTICLE_CASES: dict[str, set[str]] = {
    "clean.txt": set(),
    "notitle.txt": {"missing_field"},
    "badurl.txt": {"invalid_url"},
    "cdn.txt": {"cdn_url_mismatch"},
    "provider.txt": {"provider_domain_mismatch"},
    "future.txt": {"published_in_future"},
    "dup1.txt": {"duplicate_url"},
    "dup2.txt": {"duplicate_url"},
    "tampered.txt": {"signature_invalid"},
}


def front_matter(fields: dict[str, Any]) -> str:
    """Block-style YAML, as publishers write it (and as `sign --in-place` rewrites it)."""
    return "---\n" + yaml.safe_dump(fields, sort_keys=False) + "---\nbody ignored\n"


@dataclass
class Offline:
    code: int
    report: dict[str, Any]
    by_file: dict[str, dict[str, Any]]
    junit: ElementTree.Element


async def prepare_offline(directory: Path) -> list[str]:
    """A corpus with every article-level problem, two records signed with a real key;
    returns the `check` arguments for it."""
    corpus = directory / "corpus"
    corpus.mkdir(parents=True)
    key = directory / "publisher.key"
    code, _, err = await run_cli("keygen", "--type", "aes256", "--out", str(key))
    assert code == 0, err
    assert key.stat().st_mode & 0o077 == 0  # keygen wrote it 0600

    story = with_amp(STORY)
    files = {
        "clean.txt": story,
        "tampered.txt": with_amp(f"{NEWS}/signed"),
        "notitle.txt": {k: v for k, v in with_amp(f"{NEWS}/untitled").items() if k != "title"},
        "badurl.txt": art(f"{NEWS}/badurl", images=[image("http://img .example/x.png")]),
        "cdn.txt": {**with_amp(f"{NEWS}/cdn"), "cdnAmpWebUrl": f"{CDN}/some/other/amp"},
        "provider.txt": {**art(f"{NEWS}/provider"), "provider": {"name": "X", "domain": "x.test"}},
        "future.txt": art(f"{NEWS}/future", publishedDateTime="2999-01-01T00:00:00Z"),
        "dup1.txt": art(f"{NEWS}/dup"),
        "dup2.txt": art(f"{NEWS}/dup", title="The same story again"),
    }
    for name, fields in files.items():
        (corpus / name).write_text(front_matter(fields))
    signed = [str(corpus / "clean.txt"), str(corpus / "tampered.txt")]
    code, _, err = await run_cli("sign", *signed, "--in-place", "--key-file", str(key))
    assert code == 0, err
    tampered = corpus / "tampered.txt"
    text = tampered.read_text()
    assert "secured" in text and "Story at" in text
    tampered.write_text(text.replace("Story at", "Rewritten story at", 1))
    (corpus / "broken.txt").write_text("---\ntitle: [unclosed\nwebUrl: x\n---\n")

    return ["check", str(corpus), "--offline", "--key-file", str(key)]


@pytest.fixture(scope="module")
def offline(outputs: tuple[dict[str, Output], Log]) -> Offline:
    """Article-level problems need no network: checked --offline, with the key."""
    code, out, err = outputs[0]["offline"]
    jcode, jout, jerr = outputs[0]["offline-junit"]
    assert out, err
    assert jcode == code and jout, jerr
    report = json.loads(out)
    by_file = {Path(a["source"]).name: a for a in report["articles"]}
    return Offline(code, report, by_file, ElementTree.fromstring(jout))


@pytest.mark.parametrize(("name", "codes"), list(ARTICLE_CASES.items()))
def test_article_problem_codes(offline: Offline, name: str, codes: set[str]) -> None:
    article = offline.by_file[name]
    assert {p["code"] for p in article["problems"]} == codes, article["problems"]


@pytest.mark.parametrize(
    ("name", "code", "field_"),
    [
        ("notitle.txt", "missing_field", "title"),
        ("badurl.txt", "invalid_url", "images.0.url"),
        ("cdn.txt", "cdn_url_mismatch", "cdnAmpWebUrl"),
        ("provider.txt", "provider_domain_mismatch", "provider.domain"),
        ("future.txt", "published_in_future", "publishedDateTime"),
        ("dup1.txt", "duplicate_url", "webUrl"),
        ("tampered.txt", "signature_invalid", "secured"),
    ],
)
def test_article_problem_names_the_field(
    offline: Offline, name: str, code: str, field_: str
) -> None:
    (problem,) = [p for p in offline.by_file[name]["problems"] if p["code"] == code]
    assert problem["field"] == field_
    assert problem["message"]


def test_cdn_mismatch_says_the_right_url(offline: Offline) -> None:
    (problem,) = offline.by_file["cdn.txt"]["problems"]
    assert f"{CDN}/cdn/amp" in problem["message"]


def test_duplicates_point_at_each_other(offline: Offline) -> None:
    one = offline.by_file["dup1.txt"]["problems"][0]["message"]
    two = offline.by_file["dup2.txt"]["problems"][0]["message"]
    assert "dup2.txt" in one and "dup1.txt" in two


@pytest.mark.parametrize(
    ("name", "status"),
    [("clean.txt", "valid"), ("tampered.txt", "tampered"), ("future.txt", "missing")],
)
def test_signature_status(offline: Offline, name: str, status: str) -> None:
    assert offline.by_file[name]["signature"]["status"] == status


def test_tampered_names_the_changed_field(offline: Offline) -> None:
    assert "title" in offline.by_file["tampered.txt"]["signature"]["fields"]


def test_invalid_document_reported_with_line_and_counted(offline: Offline) -> None:
    (invalid,) = offline.report["invalid_documents"]
    assert Path(invalid["source"]).name == "broken.txt"
    assert invalid["line"] in (2, 3) and invalid["error"]
    s = offline.report["summary"]
    assert s["invalid_documents"] == 1
    assert s["by_problem"]["invalid_document"] == 1
    assert "broken.txt" not in offline.by_file


def test_offline_exit_code_and_problem_count(offline: Offline) -> None:
    assert offline.code == 1
    s = offline.report["summary"]
    assert s["articles"] == len(ARTICLE_CASES)
    # + the invalid doc, + badurl.txt's image: a URL that cannot be requested is an
    # invalid_url target as well as an invalid_url finding (one rule, monitor/urls.py)
    assert s["problems"] == sum(len(v) for v in ARTICLE_CASES.values()) + 2
    assert s["by_outcome"] == {"invalid_url": 1}
    expected = Counter(code for codes in ARTICLE_CASES.values() for code in codes)
    expected["invalid_document"] = 1
    assert s["by_problem"] == dict(expected)


def test_offline_junit_failures(offline: Offline) -> None:
    failures = list(offline.junit.iter("failure"))
    types = Counter(f.get("type") for f in failures)
    assert types["invalid_document"] == 1
    assert types["tampered"] == 1  # the signature testcase
    # one "static checks" failure per article with problems (the signature one included)
    assert types["problems"] == sum(1 for v in ARTICLE_CASES.values() if v)
