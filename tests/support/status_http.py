"""The status server for the integration tests: a real MetricsServer with the repository
on a database of known contents (support/status_db.py), SQLite or PostgreSQL, and
small HTTP helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp

from monitor.observe.endpoints import EndpointAuth, MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Repository
from support.pg import pg_engine
from support.status_db import Known, build, build_on

DIALECTS = ["sqlite", "postgres"]  # the test modules mark postgres


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag a browser would build, with its attributes."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


async def _ready() -> tuple[bool, dict[str, Any]]:
    return True, {}


def known_db(dialect: str, tmp_path: Path) -> Iterator[Known]:
    if dialect == "sqlite":
        yield build(tmp_path / "am.db")
        return
    for engine in pg_engine():
        yield build_on(engine)


@asynccontextmanager
async def running(
    known: Known, auth: EndpointAuth | None = None, public_url: str | None = None
) -> AsyncIterator[MetricsServer]:
    repo = Repository(known.engine)
    srv = MetricsServer(
        DaemonMetrics(repo.snapshot),  # as the daemon does
        _ready,
        listen="127.0.0.1:0",
        auth=auth,
        repo=repo,
        public_url=public_url,
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def get(
    srv: MetricsServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(srv.url + path, headers=headers or {}) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


async def get_json(srv: MetricsServer, path: str, status: int = 200) -> Any:
    got, body, headers = await get(srv, path)
    assert got == status, (path, body)
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)
