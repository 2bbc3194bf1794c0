"""Helpers for the daemon's end-to-end tests: a loopback web server whose
answers the test changes, a corpus, a config, and the daemon as a subprocess.

Everything binds 127.0.0.1 port 0; the daemon reaches the made-up hostnames
of the corpus through `connect_to`, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

CLI = str(Path(sys.executable).with_name("article-monitor"))
PAGE = "<!doctype html><html><head><title>ok</title></head><body><h1>Story</h1></body></html>"


class LinkServer:
    """A loopback server: every path answers `status` (settable while running),
    after `pause` seconds.

    Per Host header it records what politeness is judged by at the server: the
    most requests in flight at once, each request's start and connection, and
    each URL's start times. With `hang`, a second listener (`hang_port`) takes
    requests and never answers them until the client goes away: a client whose
    checks are stuck, still counted in flight meanwhile.
    """

    def __init__(self, *, pause: float = 0.0, hang: bool = False) -> None:
        self.status = 200
        self.hits = 0
        self.port = 0
        self.hang_port = 0
        self.pause = pause
        self._hang = hang
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.peers: dict[str, list[int]] = defaultdict(list)
        # host/path -> start times of the requests answered (not those left hanging)
        self.url_hits: dict[str, list[float]] = defaultdict(list)
        self.hung = 0  # requests taken on the hanging listener
        # (host, start, end, connection, hanging) of every request: says who overlapped
        self.spans: list[tuple[str, float, float, int, bool]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=self.status, text=PAGE, content_type="text/html")

    async def _route(self, request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        now = time.monotonic()
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport else None
        local = transport.get_extra_info("sockname") if transport else None
        hanging = self._hang and local is not None and local[1] == self.hang_port
        with self.lock:
            self.in_flight[host] += 1
            self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
            self.starts[host].append(now)
            self.peers[host].append(peer[1] if peer else 0)  # which connection
            if hanging:
                self.hung += 1  # not a check that can be answered: not in url_hits
            else:
                self.url_hits[f"{host}{request.path}"].append(now)
        try:
            if hanging:  # until the client hangs up (bounded: 10 minutes)
                for _ in range(30_000):
                    if request.transport is None or request.transport.is_closing():
                        break
                    await asyncio.sleep(0.02)
            if self.pause:
                await asyncio.sleep(self.pause)
            return await self._handle(request)
        finally:
            with self.lock:
                self.in_flight[host] -= 1
                self.spans.append((host, now, time.monotonic(), peer[1] if peer else 0, hanging))

    def overlaps(self) -> list[tuple[str, float, float, int, bool]]:
        """Requests to one host that were in flight together (both of each pair)."""
        with self.lock:
            spans = sorted(self.spans, key=lambda s: (s[0], s[1]))
        out = []
        for a, b in itertools.pairwise(spans):
            if a[0] == b[0] and b[1] < a[2]:
                out += [a, b]
        return out

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._route)
        # hanging: a request ends at the server the moment its client hangs up
        # (aiohttp cancels the handler), so "in flight" is measured exactly
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=self._hang)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = int(self._runner.addresses[0][1])
        if self._hang:
            hang = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(hang.start())
            self.hang_port = int(self._runner.addresses[1][1])
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> LinkServer:
        self._thread.start()
        # a bound on a hang, not a timing: on a loaded machine a start past 5 s went
        # on with no port, and failed later as something else
        if not self._ready.wait(60):
            raise AssertionError("the loopback link server did not start within 60 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def smallest_gap(self, *, across: bool = True) -> float:
        """The smallest gap between two request starts to one host: `across` two
        connections (what two cluster members on one host would show), or on one."""
        with self.lock:
            gaps = [
                b - a
                for h, st in self.starts.items()
                for i, (a, b) in enumerate(itertools.pairwise(st))
                if (self.peers[h][i] != self.peers[h][i + 1]) == across
            ]
        return min(gaps) if gaps else float("inf")

    def urls_hit_after(self, t: float) -> set[str]:
        with self.lock:
            return {u for u, times in self.url_hits.items() if any(x > t for x in times)}


def article(web_url: str) -> str:
    return (
        f'---\nwebUrl: "{web_url}"\ntitle: "t"\nprovider:\n  name: News\n  domain: news.test\n---\n'
    )


def one_article_corpus(tmp: Path) -> Path:
    """A corpus folder holding one article."""
    folder = tmp / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(article("http://news.test/a/"))
    return folder


def offline_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed CLI as a user runs it, listening on a free loopback port and
    sending nothing off the machine (every host connects to a closed port)."""
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "ARTICLE_MONITOR_LISTEN": "127.0.0.1:0",
            "ARTICLE_MONITOR_CONNECT_TO": "::127.0.0.1:1",
        },
    )


def offline_report(path: Path, exit_code: int = 1) -> dict[str, Any]:
    """`check PATH --offline --format json` as a user runs it: exit `exit_code` (1:
    it found something), no traceback; the JSON report it printed."""
    done = subprocess.run(
        [CLI, "check", str(path), "--offline", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def user_env(**extra: str) -> dict[str, str]:
    """This environment without any ARTICLE_MONITOR_ variable (the test's own
    settings must not leak in), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    return {**env, **extra}


def shell_cli(command: str, **paths: Path) -> subprocess.CompletedProcess[str]:
    """`command` run by sh, with $CLI and `paths` as variables (no quoting games):
    for the shell's own redirections (`> FILE`, `>> FILE`)."""
    return subprocess.run(
        ["sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=user_env(CLI=CLI, **{name: str(p) for name, p in paths.items()}),
    )


def aes_key(path: Path) -> Path:
    """An AES key file at `path`, mode 0600 (`verify` refuses a key others can read)."""
    path.write_text("11" * 32)
    path.chmod(0o600)
    return path


def refused(out: subprocess.CompletedProcess[str], *needles: str, first: bool = True) -> str:
    """Exit 2, an `Error:` line on stderr (its first line unless `first` is False:
    a warning may come before it), no traceback, each needle; returns stderr."""
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    looked_at = lines[:1] if first else lines
    assert any(line.startswith("Error:") for line in looked_at), out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr
    return out.stderr


def write_config(tmp: Path, port: int, **extra: Any) -> Path:
    corpus = tmp / "corpus"
    corpus.mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "paths": [str(corpus)],
        "data_dir": str(tmp / "data"),
        "listen": "127.0.0.1:0",
        "connect_to": [f"news.test:80:127.0.0.1:{port}"],
        "allow_network": ["127.0.0.0/8"],
        "kinds": ["web"],
        "interval": 0.2,
        "interval_jitter": 0.0,
        "retry_interval": 0.2,
        "down_after": 2,
        "up_after": 1,
        "timeout": 2.0,
        "retries": 0,
        "rescan_interval": 0.5,
        # longer than a check can take (its 2 s timeout), or the daemon warns that
        # its checks restart when their lease runs out (cluster_settings.py)
        "lease_seconds": 2.5,
        "shutdown_grace": 3.0,
        # LinkServer answers every path with one page and tests count its hits:
        # the soft-404 probe is switched on by the tests of it
        "soft_404_probe": False,
    }
    values.update(extra)
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path = tmp / "monitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class DaemonProcess:
    def __init__(self, config: Path, *args: str, group: bool = False) -> None:
        """`group`: the daemon leads its own process group, and `signal_group`
        signals all of it (a service manager's stop, a terminal's Ctrl-C)."""
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self._fh = self.log.open("wb")
        # its PostgreSQL sessions' name (libpq reads PGAPPNAME): a test waiting for
        # this daemon's statements counts only theirs (support.pg.lock_waits)
        self.app_name = f"am-test-{os.getpid()}-{time.monotonic_ns()}"
        # faulthandler: a hang's SIGABRT (`dump_stacks`) writes every thread's stack
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
            "PGAPPNAME": self.app_name,
        }
        self.proc = subprocess.Popen(
            [CLI, "run", "--config", str(config), *args],
            stdout=subprocess.DEVNULL,
            stderr=self._fh,
            env=env,
            start_new_session=group,
        )
        self.metrics_url: str | None = None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_listening(self, timeout: float = 40) -> str:
        def found() -> str | None:
            m = re.search(r"on (http://127\.0\.0\.1:\d+)", self.text())
            return m.group(1) if m else None

        url = wait_for(found, timeout, what=lambda: "listening line in\n" + self.text())
        self.metrics_url = url
        return url

    def get(self, path: str) -> tuple[int, str]:
        assert self.metrics_url
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def signal_group(self, sig: signal.Signals) -> None:
        """`sig` to the daemon and its checker processes (started with group=True)."""
        os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float = 10) -> int:
        """The exit code; past `timeout` (a hang's bound) the stacks of the daemon
        and its checker processes go to its log (`dump_stacks`), then TimeoutExpired."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.dump_stacks()
            raise
        finally:
            self._fh.close()

    def dump_stacks(self) -> None:
        """A hang's evidence, in the log `text()` reads: SIGABRT to the checker
        processes, then to the daemon, each writing every thread's stack as it
        ends (PYTHONFAULTHANDLER). Killed at the bound, a hung daemon left only
        what it had logged, which did not say what it waited for."""
        if self.proc.poll() is not None:
            return
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            for pid in children.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGABRT)
        time.sleep(1)  # not a timing: their stacks first, then the daemon's (its end kills them)
        self.proc.send_signal(signal.SIGABRT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def stopped(self, bound: float, held: str = "") -> int:
        """SIGTERM, then the exit code; the test fails, saying what held the stop
        and what the daemon wrote, when it does not end within `bound` (a hang's
        bound, never a timing)."""
        self.signal(signal.SIGTERM)
        try:
            return self.wait(bound)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the stop did not end{held}:\n{self.text()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._fh.close()


def wait_for(
    cond: Callable[[], Any], timeout: float = 20, *, what: Callable[[], str] = lambda: ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what()}")
        time.sleep(0.05)


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the daemon's SQLite database while it runs (WAL: readers do not block it)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # schema not created yet
    finally:
        conn.close()


def metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{want}}}" if labels else name):
            return float(value)
        if labels and key.startswith(name + "{"):
            got = dict(re.findall(r'(\w+)="([^"]*)"', key))
            if got == labels:
                return float(value)
    return None


def said_until_ready(manager: Any, most: int = 20) -> list[bytes]:
    """What the daemon told the service manager (a bound datagram socket with a
    timeout) up to and with READY=1: the start's EXTEND_TIMEOUT_USEC asks first."""
    said: list[bytes] = []
    for _ in range(most):
        said.append(manager.recv(4096))
        if b"READY=1" in said[-1].split(b"\n"):
            return said
    raise AssertionError(f"no READY=1 in {said}")
