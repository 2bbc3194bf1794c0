"""`article-monitor check` end to end: the installed CLI against files and a loopback server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.certs import CertAuthority
from support.images import png
from support.pages import page
from support.report_schema import assert_valid_report

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "monitor"]


def front_matter(fields: dict[str, Any]) -> str:
    return "---\n" + json.dumps(fields, indent=1) + "\n---\nbody ignored\n"


def article(n: int, **extra: Any) -> dict[str, Any]:
    base = {
        "title": f"Story {n}",
        "publishedDateTime": "2020-04-16T19:08:00Z",
        "webUrl": f"http://news.example/a{n}",
        "ampWebUrl": f"http://news.example/a{n}/amp",
        "cdnAmpWebUrl": f"https://news-example.cdn.ampproject.org/c/news.example/a{n}/amp",
        "provider": {"name": "News", "domain": "news.example"},
        "images": [{"url": "http://img.example/logo.png", "width": 40, "height": 30}],
    }
    base.update(extra)
    return base


STORY = re.compile(r"/a\d+")
STORY_AMP = re.compile(r"/a\d+/amp")


class Site:
    """A loopback site that every host name is connected to (--connect-to ::IP:PORT)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.slow = False
        self.reached = asyncio.Event()

    def app(self) -> web.Application:
        async def handler(request: web.Request) -> web.StreamResponse:
            path = request.path
            self.hits[f"{request.host.split(':')[0]}{path}"] += 1
            self.reached.set()
            if self.slow:
                await asyncio.sleep(30)
            if path.startswith("/gone"):
                return web.Response(status=404, text="gone")
            if path.endswith(".png"):
                return web.Response(body=png(40, 30), content_type="image/png")
            # only the stories exist: any other path is a 404, as on a real site (a
            # host that serves one page for any path is a soft_404)
            cached = path.removeprefix("/c/news.example")
            if path.startswith("/c/news.example/") and STORY_AMP.fullmatch(cached):
                original = cached.removesuffix("/amp")
                return web.Response(
                    text=page(amp=True, canonical=f"http://news.example{original}"),
                    content_type="text/html",
                )
            if STORY_AMP.fullmatch(path):
                web_url = f"http://news.example{path.removesuffix('/amp')}"
                return web.Response(
                    text=page(amp=True, canonical=web_url), content_type="text/html"
                )
            if STORY.fullmatch(path):
                return web.Response(
                    text=page(amphtml=f"http://news.example{path}/amp"),
                    content_type="text/html",
                )
            return web.Response(status=404, text="no such story")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        return app


CDN_HOST = "news-example.cdn.ampproject.org"


@pytest.fixture
async def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same app over plain HTTP (every host) and over TLS (the AMP cache host)."""
    s = Site()
    ca = CertAuthority(tmp_path_factory.mktemp("ca"))
    leaf = ca.issue([CDN_HOST], label="cdn")
    server = TestServer(s.app(), host="127.0.0.1")
    tls = TestServer(s.app(), host="127.0.0.1")
    await server.start_server()
    await tls.start_server(ssl=leaf.server_context())
    s.args = [  # type: ignore[attr-defined]
        "--ca-bundle",
        str(ca.cert_file),
        "--connect-to",
        f"{CDN_HOST}:443:127.0.0.1:{tls.port}",  # first match wins
        "--connect-to",
        f"::127.0.0.1:{server.port}",
        "--allow-network",
        "127.0.0.0/8",
        "--timeout",
        "5",
        "--retries",
        "0",
    ]
    yield s
    await server.close()
    await tls.close()


async def spawn(*args: str, **popen: Any) -> asyncio.subprocess.Process:
    """The CLI as a child process, stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        **popen,
    )


async def run_cli(*args: str, limit: float = 60) -> tuple[int, str, str]:
    proc = await spawn(*args)
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def net_args(site: Site) -> list[str]:
    return list(site.args)  # type: ignore[attr-defined]


# --- offline -------------------------------------------------------------------------


def run_sync(*args: str) -> tuple[int, str, str]:
    import subprocess

    p = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_offline_examples_are_clean_and_report_has_contract_shape() -> None:
    code, out, err = run_sync("check", "examples/articles", "--offline", "--format", "json")
    report = json.loads(out)
    assert_valid_report(report)
    assert code == 0, (report["summary"], err)
    assert report["version"] == 1
    s = report["summary"]
    assert s["articles"] >= 13 and s["problems"] == 0 and s["invalid_documents"] == 0
    assert s["targets"] == sum(len(a["targets"]) for a in report["articles"])
    seed = next(a for a in report["articles"] if a["source"].endswith("000_6c3b12078d9965ad.txt"))
    assert seed["webUrl"] == "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/"
    assert seed["signature"]["status"] == "unverified"  # no key configured
    kinds = Counter((t["kind"], t["origin"]) for t in seed["targets"])
    assert kinds == {
        ("web", "article"): 1,
        ("amp", "article"): 1,
        ("cdn", "article"): 1,
        ("image", "article"): 1,
        ("image", "provider"): 1,
        ("web", "related"): 1,
        ("amp", "related"): 1,
        ("cdn", "related"): 1,
        ("image", "related"): 1,
    }
    t = seed["targets"][0]
    assert set(t) >= {
        "url",
        "kind",
        "origin",
        "outcome",
        "http_status",
        "final_url",
        "redirects",
        "latency_ms",
        "attempts",
        "error",
        "problems",
    }
    assert t["outcome"] is None and t["http_status"] is None  # network fields empty offline


def test_offline_broken_corpus_reports_file_line_and_codes(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("---\ntitle: [unclosed\nwebUrl: x\n---\n")
    (tmp_path / "nourl.json").write_text('{"title": "no webUrl"}')
    (tmp_path / "ok.txt").write_text(
        front_matter(
            article(1, images=[{"url": "ftp://img.example/x.png", "width": 1, "height": 1}])
        )
    )
    (tmp_path / "future.jsonl").write_text(
        json.dumps(article(2, publishedDateTime="2999-01-01T00:00:00Z"))
        + "\n"
        + json.dumps(article(3, provider={"name": "X", "domain": "other.example"}))
        + "\n"
    )
    code, out, _ = run_sync("check", str(tmp_path), "--offline", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert_valid_report(report)
    invalid = {Path(d["source"]).name: d for d in report["invalid_documents"]}
    assert set(invalid) == {"bad.txt", "nourl.json"}
    assert invalid["bad.txt"]["line"] in (2, 3)
    assert "webUrl" in invalid["nourl.json"]["error"]
    by_url = {a["webUrl"]: a for a in report["articles"]}
    ftp = [t for t in by_url["http://news.example/a1"]["targets"] if t["url"].startswith("ftp:")]
    assert ftp and ftp[0]["outcome"] == "invalid_url"  # a target, not an invalid document
    assert "published_in_future" in {
        p["code"] for p in by_url["http://news.example/a2"]["problems"]
    }
    assert "provider_domain_mismatch" in {
        p["code"] for p in by_url["http://news.example/a3"]["problems"]
    }
    assert report["summary"]["invalid_documents"] == 2


def test_formats_junit_markdown_table(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(front_matter(article(1, cdnAmpWebUrl="https://x.example/")))
    code, out, _ = run_sync("check", str(tmp_path), "--offline", "--format", "junit")
    assert code == 1
    root = ElementTree.fromstring(out)
    assert root.tag == "testsuites" and int(root.get("failures", "0")) >= 1
    failure_texts = [f.get("message", "") for f in root.iter("failure")]
    assert any("cdn_url_mismatch" in t for t in failure_texts)
    code, out, _ = run_sync("check", str(tmp_path), "--offline", "--format", "markdown")
    assert code == 1 and "| cdn_url_mismatch |" in out.replace("  ", " ")
    code, out, _ = run_sync("check", str(tmp_path), "--offline", "--format", "table")
    assert code == 1 and "cdn_url_mismatch" in out and "1 articles" in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_sync("check")[0] == 2
    assert run_sync("check", "x", "--concurrency", "0")[0] == 2
    cfg = tmp_path / "c.toml"
    cfg.write_text("no_such_key = 1\n")
    code, _, err = run_sync("check", "x", "--config", str(cfg))
    assert code == 2 and "no_such_key" in err
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o644)
    code, out, err = run_sync("check", "examples/articles", "--offline", "--key-file", str(key))
    assert code == 2 and out == "" and "chmod" in err


# --- network -------------------------------------------------------------------------


async def test_network_outcomes_and_shared_url_fetched_once(site: Site, tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_text(
        json.dumps(article(1))
        + "\n"
        + json.dumps(
            article(
                2,
                images=[
                    {"url": "http://img.example/logo.png", "width": 40, "height": 30},
                    {"url": "http://img.example/gone.png", "width": 1, "height": 1},
                    {"url": "http://img.example/big.png", "width": 99, "height": 30},
                ],
            )
        )
        + "\n"
    )
    code, out, err = await run_cli("check", str(tmp_path), "--format", "json", *net_args(site))
    report = json.loads(out)
    assert_valid_report(report)
    assert code == 1, err
    assert site.hits["img.example/logo.png"] == 1  # shared by both articles, fetched once
    a1, a2 = report["articles"]
    assert all(t["outcome"] == "ok" and not t["problems"] for t in a1["targets"]), a1
    by_url = {t["url"]: t for t in a2["targets"]}
    assert by_url["http://img.example/logo.png"]["outcome"] == "ok"  # reported under each
    assert by_url["http://img.example/gone.png"]["outcome"] == "not_found"
    assert by_url["http://img.example/gone.png"]["http_status"] == 404
    big = by_url["http://img.example/big.png"]
    assert [p["code"] for p in big["problems"]] == ["image_dimensions_mismatch"]
    s = report["summary"]
    assert s["by_outcome"] == {"ok": 9, "not_found": 1}
    assert s["targets"] == 10 and s["problems"] == 2


async def test_workers_give_the_same_report_as_one_process(site: Site, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            article(
                n,
                images=[
                    {"url": f"http://img{n % 5}.example/{n}.png", "width": 40, "height": 30},
                    {"url": f"http://img{n % 5}.example/gone{n}.png", "width": 1, "height": 1},
                ],
            )
        )
        for n in range(30)
    ]
    (tmp_path / "many.jsonl").write_text("\n".join(lines) + "\n")
    reports = []
    for workers in ("1", "2"):
        code, out, err = await run_cli(
            "check", str(tmp_path), "--format", "json", "--workers", workers, *net_args(site)
        )
        assert code == 1, err
        reports.append(json.loads(out))

    def essence(report: dict[str, Any]) -> list[Any]:
        return [
            (
                a["webUrl"],
                [
                    (t["url"], t["outcome"], t["http_status"], [p["code"] for p in t["problems"]])
                    for t in a["targets"]
                ],
            )
            for a in report["articles"]
        ]

    assert essence(reports[0]) == essence(reports[1])
    assert reports[1]["summary"]["by_outcome"] == {"ok": 120, "not_found": 30}
    # every URL fetched once per run, also when split across processes
    assert max(site.hits.values()) == 2


# --- cut short: Ctrl-C and SIGTERM (CONTRACT section 2: exit 130, a valid partial report) ---


def slow_args(site: Site) -> list[str]:
    """No timeout the test could meet: only the signal can end the run early."""
    args = net_args(site)
    args[args.index("--timeout") + 1] = "600"
    return args


async def checking(site: Site, proc: asyncio.subprocess.Process) -> None:
    """Until the run has reached the site; a run that ends first fails with its stderr."""
    reached = asyncio.ensure_future(site.reached.wait())
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({reached, exited}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    reached.cancel()
    exited.cancel()
    if not site.reached.is_set():
        assert proc.stderr is not None
        err = (await proc.stderr.read()).decode() if proc.returncode is not None else ""
        pytest.fail(f"the run never reached the site (exit {proc.returncode}): {err}")


async def interrupt(
    site: Site, tmp_path: Path, signum: int, *, group: bool, extra: tuple[str, ...] = ()
) -> tuple[int, bytes, str]:
    """Start a run against the slow site, signal it once it is checking, collect it.

    The run has a process group of its own, as a terminal's job or a service
    has: `group` signals all of it (Ctrl-C, systemd), else the parent alone
    (`kill PID`). After the run no process of the group may be left.
    """
    site.slow = True
    (tmp_path / "a.txt").write_text(front_matter(article(1)))
    proc = await spawn("check", str(tmp_path), *extra, *slow_args(site), start_new_session=True)
    try:
        await checking(site, proc)
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    with pytest.raises(ProcessLookupError):  # no worker left behind
        os.killpg(proc.pid, 0)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["ctrl-c", "sigterm-parent", "sigterm-group"],
)
async def test_a_stop_signal_gives_a_valid_partial_report_and_exit_130(
    site: Site, tmp_path: Path, signum: int, group: bool, workers: str
) -> None:
    code, out, err = await interrupt(
        site, tmp_path, signum, group=group, extra=("--format", "json", "--workers", workers)
    )
    assert code == 130, err
    assert "Traceback" not in err
    report = json.loads(out)
    assert_valid_report(report)
    assert report["summary"]["incomplete"] is True
    # unfinished targets are left out (every one waits on the slow site)
    assert [t["outcome"] for t in report["articles"][0]["targets"]] == []


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("table", "INCOMPLETE"), ("markdown", "INCOMPLETE"), ("junit", "incomplete")],
)
async def test_every_format_says_the_report_is_incomplete(
    site: Site, tmp_path: Path, fmt: str, marker: str
) -> None:
    code, out, err = await interrupt(
        site, tmp_path, signal.SIGTERM, group=False, extra=("--format", fmt)
    )
    assert code == 130, err
    text = out.decode()
    assert marker in text
    if fmt == "junit":
        root = ElementTree.fromstring(text)
        assert root.tag == "testsuites"


async def test_a_stop_signal_replaces_the_o_file_by_the_partial_report(
    site: Site, tmp_path: Path
) -> None:
    """Exit 130 with a valid partial report: it replaces FILE whole, and the
    hidden temporary file it was written to is gone."""
    out = tmp_path / ".report.json"  # hidden: inside the corpus folder, skipped by its scan
    out.write_text("the last report\n")
    code, stdout, err = await interrupt(
        site, tmp_path, signal.SIGTERM, group=False, extra=("--format", "json", "-o", str(out))
    )
    assert code == 130, err
    assert stdout == b""
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert report["summary"]["incomplete"] is True
    assert sorted(os.listdir(tmp_path)) == [".report.json", "a.txt"]


async def test_a_killed_worker_gives_an_incomplete_report_not_a_crash(
    site: Site, tmp_path: Path
) -> None:
    import psutil

    site.slow = True
    # images on img0..img7.example: those hosts are split between the parent and its worker
    lines = [
        json.dumps(
            article(
                n, images=[{"url": f"http://img{n}.example/{n}.png", "width": 40, "height": 30}]
            )
        )
        for n in range(8)
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    proc = await spawn(
        "check", str(tmp_path), "--format", "json", "--workers", "2", *net_args(site)
    )
    try:
        await asyncio.wait_for(site.reached.wait(), 30)
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 1  # --workers 2: the parent checks a share itself
        workers[0].kill()  # as the OOM killer would
        site.slow = False  # the parent finishes its own share
        out, err = await asyncio.wait_for(proc.communicate(), 40)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1
    report = json.loads(out)
    assert_valid_report(report)
    assert report["summary"]["incomplete"] is True
    assert "worker process" in err.decode() and "Traceback" not in err.decode()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_command_began_exits_130_with_a_message(signum: int) -> None:
    """`python -m monitor` takes the stop signals over before its imports: a
    signal there is a message and 130, not "Aborted!" (1), a traceback or death."""
    import subprocess

    code = (
        "import os, signal, time\n"
        "from monitor.check.interrupt import stop_early\n"
        "stop_early()\n"
        f"os.kill(os.getpid(), {int(signum)})\n"
        "time.sleep(60)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert p.returncode == 130
    assert f"interrupted ({signal.Signals(signum).name})" in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""


async def test_a_stop_signal_to_a_worker_alone_stops_the_whole_run(
    site: Site, tmp_path: Path
) -> None:
    """The parent owns the run: a worker passes SIGTERM on, and the parent
    writes the partial report and stops every worker."""
    import psutil

    site.slow = True
    lines = [
        json.dumps(article(n, images=[{"url": f"http://img{n}.example/{n}.png"}])) for n in range(8)
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    proc = await spawn(
        "check",
        str(tmp_path),
        "--format",
        "json",
        "--workers",
        "2",
        *slow_args(site),
        start_new_session=True,
    )
    try:
        await checking(site, proc)
        (worker,) = psutil.Process(proc.pid).children()
        worker.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    assert proc.returncode == 130, err.decode()
    report = json.loads(out)
    assert_valid_report(report)
    assert report["summary"]["incomplete"] is True
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
