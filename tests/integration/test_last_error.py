"""Why a target is down, where an operator looks: `run --once` against loopback
servers (one refused, one TLS with a certificate for another host, one whose
status line is hostile text, one 200), then `history` (JSON and text), the JSON
API (against its OpenAPI schemas) and the HTML pages show each one's error,
redacted, clipped and escaped. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import Pki
from sqlalchemy import Engine, text
from support.pg import pg_schema_url
from support.servers import refusing_port
from support.status_http import get, get_json

from monitor.cli import cli
from monitor.observe.endpoints import MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.status.openapi import openapi_document
from monitor.storage.engine import make_engine
from monitor.storage.repository import Repository

HOSTILE = b"HTTP/1.1 2x0 <script>alert(1)</script>\r\nContent-Length: 0\r\n\r\n"
PAGE = b"<html><head><title>fine</title></head><body>fine</body></html>"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
    len(PAGE),
    PAGE,
)
URLS = {
    "refused": "http://refused.test/a",
    "tls": "https://news.example/a",
    "hostile": "http://hostile.test/a",
    "ok": "http://ok.test/a",
}


@contextlib.contextmanager
def answering(reply: bytes, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A loopback server in a thread: each connection (TLS first, when given) gets
    `reply` after its request, then is closed. Bounded: it stops with the block."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    lsock.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = lsock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    sock = tls.wrap_socket(conn, server_side=True) if tls else conn
                    sock.recv(65536)
                    sock.sendall(reply)
                except (OSError, ssl.SSLError):
                    pass  # the client refused the certificate: what the test wants

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(lsock.getsockname()[1])
    finally:
        done.set()
        thread.join(5)
        lsock.close()


def article(n: int, url: str) -> str:
    host = url.split("/")[2]
    return (
        f'---\nwebUrl: "{url}"\ntitle: "Story {n}"\n'
        f"provider:\n  name: P{n}\n  domain: {host}\n---\nBody {n}.\n"
    )


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])],
)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """The `--db`/`--data-dir` options of the run and of `history`."""
    if request.param == "sqlite":
        yield ["--data-dir", str(tmp_path / "data")]
        return
    for url in pg_schema_url("f6"):
        yield ["--db", url]


@pytest.fixture
def ran(tmp_path: Path, pki: Pki, database: list[str]) -> list[str]:
    """One `run --once` over the four targets; the database options to read it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, url in enumerate(URLS.values()):
        (corpus / f"{n}.txt").write_text(article(n, url))
    config = tmp_path / "monitor.toml"  # one failed check is down: one run shows it
    config.write_text("down_after = 1\nretries = 0\n")
    with (
        refusing_port() as closed,
        answering(OK, tls=pki.wrong_host.server_context()) as tls_port,
        answering(HOSTILE) as hostile_port,
        answering(OK) as ok_port,
    ):
        args = ["run", str(corpus), "--once", "--config", str(config), *database]
        args += ["--ca-bundle", str(pki.ca_file)]
        args += ["--allow-network", "127.0.0.0/8", "--listen", "127.0.0.1:0"]
        for host, port in (
            ("refused.test:80", closed),
            ("news.example:443", tls_port),
            ("hostile.test:80", hostile_port),
            ("ok.test:80", ok_port),
        ):
            args += ["--connect-to", f"{host}:127.0.0.1:{port}"]
        result = CliRunner().invoke(cli, args, env={"ARTICLE_MONITOR_CONFIG": ""})
    assert result.exit_code == 0, result.output
    return database


def history(database: list[str], url: str, fmt: str, columns: int = 160) -> Any:
    args = ["history", url, *database, "--format", fmt]
    out = CliRunner().invoke(cli, args, env={"COLUMNS": str(columns), "ARTICLE_MONITOR_CONFIG": ""})
    assert out.exit_code == 0, out.output
    return json.loads(out.output)["targets"][0] if fmt == "json" else out.output


def engine_of(database: list[str]) -> Engine:
    if database[0] == "--db":
        return make_engine(database[1])
    return make_engine(f"sqlite:///{database[1]}/article-monitor.db")


@contextlib.asynccontextmanager
async def status_server(engine: Engine) -> Any:
    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    repo = Repository(engine)
    srv = MetricsServer(
        DaemonMetrics(repo.snapshot), ready, listen="127.0.0.1:0", auth=None, repo=repo
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_the_daemon_keeps_and_shows_why_each_target_is_down(ran: list[str]) -> None:
    hist = {name: history(ran, url, "json") for name, url in URLS.items()}
    assert [t["state"] for t in hist.values()] == ["down", "down", "down", "up"], hist
    refused, tls, hostile, ok = (
        hist[n]["transitions"][0]["error"] for n in ("refused", "tls", "hostile", "ok")
    )
    assert refused == "connection refused"
    assert tls is not None and tls.startswith("certificate rejected: "), tls
    assert "hostname" in tls.lower() or "mismatch" in tls.lower(), tls
    assert hostile is not None and "<script>alert(1)</script>" in hostile, hostile
    assert ok is None
    assert hist["refused"]["last_error"] == "connection refused"
    assert hist["ok"]["last_error"] is None
    table = history(ran, URLS["refused"], "table")
    assert "last error: connection refused" in table, table
    assert "connection refused" in table.split("Transitions", 1)[1], table
    # in 80 columns the error wraps; the time and the change are whole
    narrow = history(ran, URLS["tls"], "table", columns=80).split("Transitions", 1)[1]
    assert "unknown → down" in narrow and hist["tls"]["transitions"][0]["at"] in narrow

    engine = engine_of(ran)
    try:
        with engine.connect() as conn:
            ids = dict(conn.execute(text("SELECT url, id FROM targets")).all())
        spec = openapi_document()
        schemas = spec["components"]["schemas"]

        def valid(doc: Any, name: str) -> None:
            jsonschema.validate(doc, {**schemas[name], "components": spec["components"]})

        async with status_server(engine) as srv:
            page = await get_json(srv, "/api/v1/targets?limit=10")
            valid(page, "TargetPage")
            errors = {item["url"]: item["last_error"] for item in page["items"]}
            assert errors[URLS["refused"]] == "connection refused"
            assert errors[URLS["tls"]] == tls
            assert errors[URLS["ok"]] is None
            one = await get_json(srv, f"/api/v1/targets/{ids[URLS['hostile']]}")
            valid(one, "Target")
            assert one["last_error"] == hostile
            assert one["transitions"][0]["error"] == hostile
            status = await get_json(srv, "/api/v1/status")
            valid(status, "Status")
            shown = {t["url"]: t["error"] for t in status["recent_transitions"]}
            assert shown[URLS["tls"]] == tls and shown[URLS["ok"]] is None

            code, html, _ = await get(srv, f"/targets/{ids[URLS['hostile']]}")
            assert code == 200
            assert "<script>alert" not in html
            escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
            assert html.count(escaped) == 2, html  # the last error and the timeline
            code, html, _ = await get(srv, f"/targets/{ids[URLS['refused']]}")
            assert "<dt>Last error</dt><dd>connection refused</dd>" in html, html
            code, overview, _ = await get(srv, "/")
            assert code == 200 and "<script>alert" not in overview
            assert "connection_error: connection refused" in overview
            # the hostile error, clipped to 60 characters there and escaped
            assert "connection_error: not a valid HTTP response: Bad status line" in overview
            # the targets list says why each is down, as the overview does
            code, listing, _ = await get(srv, "/targets?state=down")
            assert code == 200 and "<script>alert" not in listing
            assert "connection_error: connection refused" in listing, listing
            assert "connection_error: not a valid HTTP response: Bad status line" in listing
    finally:
        engine.dispose()
