"""Helpers for the daemon's end-to-end tests: a loopback web server whose
answers the test changes, a corpus, a config, and the daemon as a subprocess.

Everything binds 127.0.0.1 port 0; the daemon reaches the made-up hostnames
of the corpus through `connect_to`, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

CLI = str(Path(sys.executable).with_name("article-monitor"))
PAGE = "<!doctype html><html><head><title>ok</title></head><body><h1>Story</h1></body></html>"


class LinkServer:
    """A loopback server: every path answers `status` (settable while running)."""

    def __init__(self) -> None:
        self.status = 200
        self.hits = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=self.status, text=PAGE, content_type="text/html")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = int(self._runner.addresses[0][1])
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> LinkServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def article(web_url: str) -> str:
    return (
        f'---\nwebUrl: "{web_url}"\ntitle: "t"\nprovider:\n  name: News\n  domain: news.test\n---\n'
    )


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
        "lease_seconds": 2.0,
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
    def __init__(self, config: Path, *args: str) -> None:
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self._fh = self.log.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [CLI, "run", "--config", str(config), *args],
            stdout=subprocess.DEVNULL,
            stderr=self._fh,
            env=env,
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

    def wait(self, timeout: float = 10) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._fh.close()

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
