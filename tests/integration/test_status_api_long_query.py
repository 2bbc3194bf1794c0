"""A query within the API's bounds fits the listener's request line whatever its
characters: `q` is bounded to MAX_Q characters, but each one percent-encoded as UTF-8
is up to 12 bytes on the line (`%F0%9F%98%80`), and the listener's 4 KiB line limit
answered a `q` of 2,048 `€` with aiohttp's own plain-text 400 where /api/v1 answers
JSON and the page lists the targets. Past every bound, the line is still refused, as
JSON under /api/v1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from support import status_db
from support.status_http import get, running

from monitor.observe.endpoints import MetricsServer
from monitor.observe.guard import ConnectionLimits
from monitor.observe.status.filters import MAX_PROVIDER, MAX_Q

EURO = "€"  # 3 bytes of UTF-8: 9 characters encoded
ASTRAL = "\U0001f600"  # 4 bytes: 12 characters encoded, the most one character takes


@pytest.fixture
def known(tmp_path: Path) -> status_db.Known:
    return status_db.build(tmp_path / "am.db", n_targets=12)


def _query(**params: str) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


async def _json(srv: MetricsServer, path: str) -> tuple[int, dict[str, object]]:
    status, body, headers = await get(srv, path)
    assert headers["Content-Type"].startswith("application/json"), (status, body[:200])
    return status, json.loads(body)


async def test_the_longest_queries_within_bounds_get_their_answers(known: status_db.Known) -> None:
    async with running(known) as srv:
        for char in (EURO, ASTRAL):
            for params in (
                {"q": char * MAX_Q},
                {"q": char * MAX_Q, "provider": char * MAX_PROVIDER, "state": "down"},
            ):
                status, doc = await _json(srv, "/api/v1/targets?" + _query(**params))
                assert status == 200, doc
                assert doc == {"items": [], "next_cursor": None}
                status, page, headers = await get(srv, "/targets?" + _query(**params))
                assert status == 200, page[:200]
                assert headers["Content-Type"].startswith("text/html")


async def test_a_q_past_its_bound_is_the_apis_json_400(known: status_db.Known) -> None:
    async with running(known) as srv:
        status, doc = await _json(srv, "/api/v1/targets?" + _query(q=ASTRAL * (MAX_Q + 1)))
        assert status == 400
        assert doc == {"error": f"q is longer than {MAX_Q} characters", "parameter": "q"}


async def test_a_line_past_every_bound_is_refused_as_json_under_the_api(
    known: status_db.Known,
) -> None:
    longest = ConnectionLimits().max_line_size
    async with running(known) as srv:
        for path in ("/api/v1/targets?q=", "/api/v1/status?limit=", "/api/v1/nowhere/"):
            status, doc = await _json(srv, path + "a" * longest)
            assert status == 400
            assert doc == {"error": "the request line is too long"}
        # elsewhere the listener's own plain answer, quoting nothing
        status, body, headers = await get(srv, "/targets?q=" + "a" * longest)
        assert (status, body) == (400, "400 Bad Request\n")
        assert headers["Content-Type"].startswith("text/plain")


async def test_a_long_line_is_told_under_the_api_as_its_request_would_be(
    known: status_db.Known,
) -> None:
    """request.path tells the API's requests: percent-decoded, and an absolute-form
    target's path. A line past the limit is told the same way: a client that
    encodes its path or names the host in it has JSON under /api/v1 still."""
    past = "a" * ConnectionLimits().max_line_size
    for target, api in (
        ("http://127.0.0.1/api/v1/targets?q=", True),
        ("/%61pi%2Fv1/targets?q=", True),
        ("//api/v1/targets?q=", False),
        ("/API/v1/targets?q=", False),
        ("/api/v1evil?q=", False),
    ):
        answer = await _raw(known, b"GET " + target.encode() + past.encode() + b" HTTP/1.1\r\n\r\n")
        short = await _raw(known, b"GET " + target.encode() + b" HTTP/1.1\r\n\r\n")
        for got in (answer, short):
            head = got.partition(b"\r\n\r\n")[0]
            assert (b"Content-Type: application/json" in head) is api, (target, got[:300])
            assert b"X-Content-Type-Options: nosniff" in head
        assert answer.partition(b"\r\n")[0] == b"HTTP/1.0 400 Bad Request"
        assert b"aaaa" not in answer


async def _raw(known: status_db.Known, request: bytes) -> bytes:
    """The answer to `request`, sent as is (a client's own bytes), until the server closes."""
    async with running(known) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        try:
            writer.write(request.replace(b"\r\n\r\n", b"\r\nHost: x\r\nConnection: close\r\n\r\n"))
            async with asyncio.timeout(30):  # only a hang reaches it
                return await reader.read(-1)
        finally:
            writer.close()
