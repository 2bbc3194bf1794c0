"""`run --once` starts checking while the corpus is still being stored (issue 16): the
targets of a big document's first batch are checked before its last batch is written,
and everything is still checked exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.storage.corpus import STORE_BATCH
from monitor.storage.repository import Repository

ARTICLES = STORE_BATCH + 40  # two batches: the second waits for a first check


class Site:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.first = threading.Event()  # set from the event loop, waited on by the scan

    async def page(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        self.first.set()
        return web.Response(
            text="<html><head><title>A</title></head></html>", content_type="text/html"
        )


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, int]]:
    state = Site()
    app = web.Application()
    app.router.add_get("/{tail:.*}", state.page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        assert server.port is not None
        yield state, server.port
    finally:
        await server.close()


async def test_run_once_checks_while_a_big_document_is_still_being_stored(
    tmp_path: Path, site: tuple[Site, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, port = site
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [json.dumps({"webUrl": f"http://news.test/a{i}"}) for i in range(ARTICLES)]
    (corpus / "big.jsonl").write_text("\n".join(lines) + "\n")
    waited: list[bool] = []
    scanner: list[int] = []  # the thread storing the corpus
    store_round = Repository._store_round
    write = Repository._write

    def first_round(self: Repository, conn: Any, batch: Any, now: int) -> None:
        scanner.append(threading.get_ident())
        store_round(self, conn, batch, now)

    @contextlib.contextmanager
    def gated(self: Repository) -> Iterator[Any]:
        if scanner and threading.get_ident() == scanner[0] and not waited:
            # the next batch is written only once a first target was checked
            waited.append(state.first.wait(30))
        with write(self) as conn:
            yield conn

    monkeypatch.setattr(Repository, "_store_round", first_round)
    monkeypatch.setattr(Repository, "_write", gated)
    values = {
        "paths": [corpus],
        "data_dir": tmp_path / "data",
        "listen": "127.0.0.1:0",
        "allow_network": ["127.0.0.0/8"],
        "connect_to": [f"::127.0.0.1:{port}"],
        "kinds": ["web"],
        "interval": 3600.0,
        "retries": 0,
        "once": True,
        "workers": 1,
        "soft_404_probe": False,
    }
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    assert await asyncio.wait_for(daemon.run(), 120) == 0, daemon.failure
    assert waited == [True]  # the first batch's targets were checked meanwhile
    assert len(state.hits) == ARTICLES
    assert set(state.hits.values()) == {1}  # each once
