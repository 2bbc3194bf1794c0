"""`run` listens before it checks the database (observe/starting.py): a start
held in the check answers /healthz 200 while it reads on and 503 once it has
stalled, /readyz 503 "starting: …" (the detail for a caller with credentials
only), and /metrics and the status pages 503. Before, nothing listened until
the database was ready, so the probes had to wait an hour for any start.

The check is held by the test (a stuck disk reads nothing); the stall window
passes on an injected clock; the progress is the process's real bytes read."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.daemon import start
from monitor.daemon.service import Daemon
from monitor.observe.starting import STALL_AFTER, StartWatch
from monitor.secured.keys import KeyRing
from monitor.storage.opening import DatabaseUnusable

TOKEN = "s3cret-probe-token"


def _get(port: int, path: str, token: str | None = None) -> tuple[int, str]:
    """One request on a fresh connection (http.client: no proxy, no name lookup)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


async def _listening(daemon: Daemon, run: asyncio.Task[int]) -> int:
    for _ in range(2000):  # bounded: the start binds before its check
        server = daemon.server
        if server is not None and server.port and daemon.starting.phase is not None:
            return server.port
        assert not run.done(), run
        await asyncio.sleep(0.01)
    raise AssertionError("the start never listened")


async def test_a_start_held_in_the_check_answers_probes_and_stalls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "http://news.test/a/"\n---\n')
    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    settings = load_settings(
        None,
        {
            "paths": [corpus],
            "data_dir": tmp_path / "data",
            "listen": "127.0.0.1:0",
            "metrics_token_file": token,
        },
        environ={},
    )
    release = threading.Event()

    def held_check(engine: object, url: str) -> None:  # a stuck disk: reads nothing
        release.wait(60)
        raise DatabaseUnusable("the disk did not answer")

    monkeypatch.setattr(start, "check", held_check)
    now = [0.0]
    watch = StartWatch(clock=lambda: now[0])
    daemon = Daemon(settings, KeyRing.load([]), starting=watch)
    run = asyncio.create_task(daemon.run())
    try:
        port = await _listening(daemon, run)

        def probe(path: str, auth: bool = False) -> tuple[int, str]:
            return _get(port, path, TOKEN if auth else None)

        # live: twice, so the first requests' one-time reads (imports) are behind us
        for _ in range(2):
            assert await asyncio.to_thread(probe, "/healthz") == (200, "ok\n")
        status, body = await asyncio.to_thread(probe, "/readyz")
        assert status == 503 and json.loads(body) == {"ready": False}  # no detail: no token
        status, body = await asyncio.to_thread(probe, "/readyz", True)
        assert status == 503
        assert json.loads(body) == {"ready": False, "status": "starting: checking the database"}
        assert (await asyncio.to_thread(probe, "/metrics"))[0] == 401  # credentials first
        assert await asyncio.to_thread(probe, "/metrics", True) == (
            503,
            "starting: checking the database\n",
        )
        status, body = await asyncio.to_thread(probe, "/api/v1/status", True)
        assert status == 503 and json.loads(body) == {"error": "starting"}
        status, body = await asyncio.to_thread(probe, "/", True)
        assert status == 503 and "starting: checking the database" in body  # the banner

        # nothing read since: the start has stalled. The requests above came in
        # between, so a probe's own request does not count as progress (sockets
        # are read by recv, which the count leaves out): a flood of probes cannot
        # keep a hung start alive
        now[0] += STALL_AFTER + 15
        assert await asyncio.to_thread(probe, "/healthz") == (
            503,
            "start stalled: no database progress for 75 s\n",
        )
        status, body = await asyncio.to_thread(probe, "/readyz", True)
        assert status == 503 and "start stalled" in json.loads(body)["status"]
    finally:
        release.set()
    with pytest.raises(DatabaseUnusable):
        await asyncio.wait_for(run, 60)
    with pytest.raises(ConnectionRefusedError):  # a failed start stops listening
        await asyncio.to_thread(_get, port, "/healthz")
