"""https against the system trust store, which the run now loads at its first
https dial (aiohttp's import-time contexts are built without it:
monitor/http/aiohttp_import.py). `SSL_CERT_FILE` stands in for the system's
CA bundle, as OpenSSL reads it wherever the store is loaded."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.certs import CertAuthority
from support.pages import page

ROOT = Path(__file__).resolve().parents[2]
HOSTS = [f"h{n}.store.test" for n in range(1, 5)]


@pytest.fixture
async def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One TLS server for every host; yields (its CA, a CA that did not issue it, port)."""
    ca = CertAuthority(tmp_path_factory.mktemp("ca"))
    rogue = CertAuthority(tmp_path_factory.mktemp("rogue"), "untrusted test CA")
    leaf = ca.issue(HOSTS, label="store")

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=page(), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=leaf.server_context())
    yield ca.cert_file, rogue.cert_file, server.port
    await server.close()


async def _check(tmp_path: Path, port: int, store: Path, workers: int) -> dict[str, Any]:
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"webUrl": f"https://{host}/story/{n}"} for n, host in enumerate(HOSTS)]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = ["check", str(corpus), "--format", "json", "--kinds", "web", "--retries", "0"]
    args += ["--connect-to", f"::127.0.0.1:{port}", "--allow-network", "127.0.0.0/8"]
    args += ["--workers", str(workers), "--timeout", "10"]
    env = {**os.environ, "SSL_CERT_FILE": str(store), "ARTICLE_MONITOR_CONFIG": ""}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in (0, 1), err.decode()
    report: dict[str, Any] = json.loads(out)
    return report


def _outcomes(report: dict[str, Any]) -> list[str]:
    return [t["outcome"] for a in report["articles"] for t in a["targets"]]


@pytest.mark.parametrize("workers", [1, 2])
async def test_https_is_verified_against_the_system_store(
    tls_site: tuple[Path, Path, int], tmp_path: Path, workers: int
) -> None:
    """Trusted by the store: ok, in this process and in a worker process; the
    store not holding the issuer: tls_error (verification is on, not skipped)."""
    ca_file, rogue_file, port = tls_site
    trusted = await _check(tmp_path, port, ca_file, workers)
    assert _outcomes(trusted) == ["ok"] * len(HOSTS), trusted["articles"]
    untrusted = await _check(tmp_path, port, rogue_file, workers)
    assert _outcomes(untrusted) == ["tls_error"] * len(HOSTS), untrusted["articles"]


@pytest.mark.parametrize("command", ["check", "run --once", "worker"])
def test_the_entry_points_import_aiohttp_without_the_trust_store(
    command: str, tmp_path: Path
) -> None:
    """`check`, `run` and a checker process import aiohttp through
    aiohttp_import, so none pays the store's two loads at import (~470 M
    instructions): a module importing aiohttp first would bring them back. Each
    runs in a fresh interpreter on one target (127.0.0.1: blocked, never fetched)."""
    (tmp_path / "a.txt").write_text('---\nwebUrl: "http://127.0.0.1:9/a"\n---\n')
    if command == "worker":
        run = "import monitor.check.worker"
    else:
        args = [*command.split(), str(tmp_path / "a.txt"), "--data-dir", str(tmp_path / "d")]
        if command == "check":
            args = [*args, "--format", "json", "-o", str(tmp_path / "report.json")]
        run = (
            "from monitor.cli import cli\n"
            f"try:\n    cli.main({args!r})\n"
            "except SystemExit as stop:\n    assert stop.code in (0, 1), stop.code"
        )
    probe = (
        f"{run}\n"
        "from aiohttp import connector\n"
        "print(connector._SSL_CONTEXT_VERIFIED.cert_store_stats()['x509'])\n"
    )
    env = {**os.environ, "ARTICLE_MONITOR_CONFIG": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0", done.stdout
