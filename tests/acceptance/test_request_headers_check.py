"""`request_headers` through `check` as a user runs it, against a loopback server
that records every request's headers (every made-up host connects to it).

The rules' headers reach the matching hosts only: the very host and, for
`*.cdn.test`, its subdomains but not the apex; every request to them (pages,
ranged images, the soft-404 probe, the first hop of a redirect) and none to
another host, a cross-host redirect's target included. Values come from a
file, a variable or the rule itself, through the config file, the flags or
ARTICLE_MONITOR_REQUEST_HEADERS, in one process or in checker processes (the
pipe). A bad rule is `Error:`, exit 2, nothing requested and no value shown (each
kind of bad rule: tests/unit/test_request_headers.py);
`config show` shows `***` or where a value is read from, never the value.
The daemon sends them too, from its checker processes, and no value reaches
its log (at debug), its database, /metrics, its API or the checker processes'
command lines and environments.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from daemon_harness import CLI, DaemonProcess, query, refused, user_env, wait_for, write_config
from support.procs import children

FILE_SECRET = "Bearer file-secret-7f3a9c"
ENV_SECRET = "env-secret-c4e1b2"
UA = "Staging-Probe/1"

CORPUS = """---
webUrl: "http://staging.test/a/"
title: "Story"
images:
  - url: "http://img.cdn.test/i.png"
    width: 1
    height: 1
  - url: "http://cdn.test/apex.png"
    width: 1
    height: 1
provider: {name: News, domain: staging.test}
related:
  - webUrl: "http://staging.test/away/"
    title: "Away"
  - webUrl: "http://other.test/b/"
    title: "Other"
---
"""
PAGE = "<!doctype html><html><head><title>Story</title></head><body><h1>Story</h1></body></html>"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class HeaderServer:
    """Records (host, path, the request's raw header pairs) of every request;
    `/away/` redirects to another host, `*.png` is an image, the rest a page."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.lock = threading.Lock()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        host = request.host.rsplit(":", 1)[0]
        with self.lock:
            self.seen.append((host, request.path, list(request.raw_headers_text())))
        if request.path == "/away/":
            raise web.HTTPFound("http://other.test/landing/")
        if request.path.endswith(".png"):
            return web.Response(body=_png(), content_type="image/png")
        return web.Response(text=PAGE, content_type="text/html")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._route)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = int(runner.addresses[0][1])
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> HeaderServer:
        self._thread.start()
        if not self._ready.wait(60):  # a bound on a hang, not a timing
            raise AssertionError("the loopback server did not start within 60 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def requests(self, host: str) -> list[tuple[str, dict[str, list[str]]]]:
        """(path, header name in lower case -> its values) of each request to `host`."""
        with self.lock:
            found = [(p, h) for s, p, h in self.seen if s == host]
        out = []
        for path, pairs in found:
            headers: dict[str, list[str]] = {}
            for name, value in pairs:
                headers.setdefault(name.lower(), []).append(value)
            out.append((path, headers))
        return out


def _raw_headers_text(self: web.Request) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers]


web.Request.raw_headers_text = _raw_headers_text  # type: ignore[attr-defined]


def corpus(tmp: Path) -> Path:
    folder = tmp / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(CORPUS)
    return folder


def secret_file(tmp: Path, mode: int = 0o600, text: str = FILE_SECRET + "\n") -> Path:
    path = tmp / "secrets" / "staging-auth"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def check(
    tmp: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`check` with every host connected to the loopback server on `port`."""
    return subprocess.run(
        [CLI, "check", str(tmp / "corpus"), "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(
            ARTICLE_MONITOR_CONNECT_TO=f"::127.0.0.1:{port}",
            ARTICLE_MONITOR_ALLOW_NETWORK="127.0.0.0/8",
            ARTICLE_MONITOR_KINDS="web,image",
            ARTICLE_MONITOR_RETRIES="0",
            **(env or {}),
        ),
    )


def config_rules(tmp: Path) -> Path:
    """The three rules in a config file; the value file named relative to it."""
    secret_file(tmp)
    path = tmp / "monitor.toml"
    path.write_text(
        "[[request_headers]]\n"
        'hosts = ["staging.test"]\n'
        'name = "Authorization"\n'
        'value_file = "secrets/staging-auth"\n'
        "[[request_headers]]\n"
        'hosts = ["*.cdn.test"]\n'
        'name = "X-Cdn-Token"\n'
        'value_env = "CDN_TOKEN"\n'
        "[[request_headers]]\n"
        'hosts = ["STAGING.test."]\n'
        'name = "user-agent"\n'
        f'value = "{UA}"\n'
    )
    return path


def given(layer: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The same three rules given through `layer`: (arguments, environment)."""
    env = {"CDN_TOKEN": ENV_SECRET}
    if layer == "file":
        return ["--config", str(config_rules(tmp))], env
    path = secret_file(tmp)
    if layer == "flags":
        return [
            "--header-file",
            f"staging.test=Authorization:{path}",
            "--header-env",
            "*.cdn.test=X-Cdn-Token:CDN_TOKEN",
            "--header",
            f"staging.test=User-Agent: {UA}",
        ], env
    rules = [
        {"hosts": ["staging.test"], "name": "Authorization", "value_file": str(path)},
        {"hosts": ["*.cdn.test"], "name": "X-Cdn-Token", "value_env": "CDN_TOKEN"},
        {"hosts": ["staging.test"], "name": "User-Agent", "value": UA},
    ]
    return [], {**env, "ARTICLE_MONITOR_REQUEST_HEADERS": json.dumps(rules)}


@pytest.mark.parametrize(("layer", "workers"), [("file", "1"), ("flags", "1"), ("env", "2")])
def test_the_headers_go_to_the_matching_hosts_and_nowhere_else(
    tmp_path: Path, layer: str, workers: str
) -> None:
    """Workers 2: the checks run in a checker process, which gets the rules'
    values through its settings frame (its stdin pipe). ~2 s each on 2 busy
    cores: a whole `check` process (and a worker's) with its soft-404 probes."""
    corpus(tmp_path)
    args, env = given(layer, tmp_path)
    with HeaderServer() as site:
        done = check(tmp_path, site.port, *args, "--workers", workers, env=env)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    outcomes = {t["url"]: t["outcome"] for a in report["articles"] for t in a["targets"]}
    assert outcomes["http://staging.test/a/"] == "ok", outcomes
    assert outcomes["http://img.cdn.test/i.png"] == "ok", outcomes

    staging = site.requests("staging.test")
    paths = {p for p, _ in staging}
    assert {"/a/", "/away/"} <= paths, paths
    assert any("am-probe-" in p for p in paths), f"no soft-404 probe to staging.test: {paths}"
    for path, headers in staging:
        assert headers.get("authorization") == [FILE_SECRET], (path, headers)
        assert headers.get("user-agent") == [UA], (path, headers)  # one, the rule's
        assert "x-cdn-token" not in headers, (path, headers)

    image = site.requests("img.cdn.test")
    assert image, "the image on a subdomain was not requested"
    for path, headers in image:
        assert headers.get("x-cdn-token") == [ENV_SECRET], (path, headers)
        assert "authorization" not in headers, (path, headers)
        assert headers["user-agent"][0].startswith("article-monitor/"), headers

    elsewhere = site.requests("cdn.test") + site.requests("other.test")
    assert {p for p, _ in site.requests("other.test")} >= {"/landing/", "/b/"}  # redirect's end
    for path, headers in elsewhere:
        assert "authorization" not in headers and "x-cdn-token" not in headers, (path, headers)
        assert len(headers["user-agent"]) == 1, headers
        assert headers["user-agent"][0].startswith("article-monitor/"), headers

    for secret in (FILE_SECRET, ENV_SECRET, "file-secret-7f3a9c"):
        assert secret not in done.stdout and secret not in done.stderr


BAD: list[tuple[str, list[str], dict[str, str], str]] = [
    ("host", ["--header", "staging.test=Host: evil.test"], {}, "header Host cannot be set"),
    ("shape", ["--header", "X-Team: news"], {}, "--header expects HOSTS=NAME: VALUE"),
    ("unset", ["--header-env", "staging.test=Authorization:NOT_SET_HERE"], {}, "is not set"),
    (
        "injection",
        ["--header-env", "staging.test=Authorization:CDN_TOKEN"],
        {"CDN_TOKEN": ENV_SECRET + "\r\nX-Evil: 1"},
        "a header injection",
    ),
    (
        "not-json",
        [],
        {"ARTICLE_MONITOR_REQUEST_HEADERS": "staging.test=X-Team: news"},
        "expected a JSON list of tables",
    ),
    (  # split on commas as no_proxy's `[::1],localhost` is, it read as a list of bad rules
        "ipv6-first",
        [],
        {"ARTICLE_MONITOR_REQUEST_HEADERS": "[::1],staging.test"},
        "not valid JSON",
    ),
]


@pytest.mark.parametrize(("args", "env", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_rule_is_an_error_and_nothing_is_requested(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    corpus(tmp_path)
    with HeaderServer() as site:
        done = check(tmp_path, site.port, *args, env=env)
    stderr = refused(done, needle, first=False)
    assert "request_headers" in stderr or "--header" in stderr, stderr
    assert ENV_SECRET not in stderr, stderr
    assert not site.seen, "a request was sent"


@pytest.mark.parametrize(
    ("mode", "text", "needle"),
    [
        (0o644, FILE_SECRET, "are too open"),
        (None, "", "not found"),
    ],
    ids=["readable", "missing"],
)
def test_a_value_file_is_refused_as_a_secret_key_file_is(
    tmp_path: Path, mode: int | None, text: str, needle: str
) -> None:
    corpus(tmp_path)
    path = tmp_path / "missing" if mode is None else secret_file(tmp_path, mode, text)
    with HeaderServer() as site:
        done = check(tmp_path, site.port, "--header-file", f"staging.test=Authorization:{path}")
    stderr = refused(done, needle, str(path), first=False)
    assert "header Authorization for staging.test" in stderr, stderr
    assert "file-secret" not in stderr, stderr
    assert not site.seen, "a request was sent"


def test_config_show_names_where_each_value_comes_from_and_never_shows_one(
    tmp_path: Path,
) -> None:
    config = config_rules(tmp_path)
    done = subprocess.run(
        [CLI, "config", "show", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(CDN_TOKEN=ENV_SECRET),
    )
    assert done.returncode == 0, done.stderr
    rules = json.loads(done.stdout)["request_headers"]
    assert [r["name"] for r in rules] == ["Authorization", "X-Cdn-Token", "User-Agent"]
    assert rules[0]["value_file"] == str(tmp_path / "secrets" / "staging-auth")
    assert rules[0]["value"] is None
    assert rules[1]["value_env"] == "CDN_TOKEN"
    assert rules[2]["value"] == "***"
    for secret in (FILE_SECRET, ENV_SECRET, UA):
        assert secret not in done.stdout + done.stderr


DAEMON_CORPUS = """---
webUrl: "http://staging.test/a/"
title: "Story"
provider: {name: News, domain: staging.test}
related:
  - webUrl: "http://staging.test/away/"
    title: "Away"
---
"""


def test_the_daemon_sends_them_and_keeps_every_value_to_itself(tmp_path: Path) -> None:
    """`run` at debug, checking in a checker process (workers = 2): its checks
    (the soft-404 probe's and the cross-host redirect's included) carry the
    rules' headers to staging.test only, and neither value (one from a file, one
    plain) is in the log, the database file or its WAL, /metrics, the API, or a
    checker process's argv or environment: the values travel its stdin pipe.
    ~4 s: a daemon and its checker process start, check, serve and stop."""
    secret_file(tmp_path)
    with HeaderServer() as site:
        cfg = write_config(
            tmp_path,
            site.port,
            connect_to=[f"::127.0.0.1:{site.port}"],
            workers=2,
            log_level="debug",
            soft_404_probe=True,
            interval=3600.0,
            rescan_interval=3600.0,
        )
        (tmp_path / "corpus" / "a.txt").write_text(DAEMON_CORPUS)
        with cfg.open("a") as f:
            f.write(
                "[[request_headers]]\n"
                'hosts = ["staging.test"]\n'
                'name = "Authorization"\n'
                'value_file = "secrets/staging-auth"\n'
                "[[request_headers]]\n"
                'hosts = ["staging.test"]\n'
                'name = "X-Waf-Key"\n'
                f'value = "{ENV_SECRET}"\n'
            )
        db = tmp_path / "data" / "article-monitor.db"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()

            def checked() -> bool:
                rows = query(db, "select count(*) from check_results")
                paths = {p for p, _ in site.requests("staging.test")}
                landed = any(p == "/landing/" for p, _ in site.requests("other.test"))
                return (
                    bool(rows and rows[0][0] >= 2)
                    and landed
                    and any("am-probe-" in p for p in paths)
                )

            wait_for(checked, what=daemon.text)
            workers = children(daemon.proc.pid)
            assert workers, daemon.text()
            processes = {}
            for pid in workers:
                for part in ("cmdline", "environ"):
                    processes[f"checker {pid} {part}"] = Path(f"/proc/{pid}/{part}").read_bytes()
            _, metrics = daemon.get("/metrics")
            _, targets = daemon.get("/api/v1/targets")
            _, overview = daemon.get("/")
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    staging = site.requests("staging.test")
    for path, headers in staging:
        assert headers.get("authorization") == [FILE_SECRET], (path, headers)
        assert headers.get("x-waf-key") == [ENV_SECRET], (path, headers)
    for path, headers in site.requests("other.test"):
        assert "authorization" not in headers and "x-waf-key" not in headers, (path, headers)
    kept = {
        "log": daemon.text().encode(),
        "metrics": metrics.encode(),
        "api": targets.encode(),
        "overview": overview.encode(),
        **processes,
        **{p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)},
    }
    assert db.name in kept and len(processes) == 2 * len(workers), sorted(kept)
    for secret in (FILE_SECRET, "file-secret-7f3a9c", ENV_SECRET):
        for where, data in kept.items():
            assert secret.encode() not in data, f"a header value in the {where}"
    assert "Traceback" not in daemon.text()
