"""A flood of status requests cannot lock out /healthz and /metrics: reads
beyond the source's bound are a 503 with Retry-After at once, so no
connection waits on the read threads and the guard keeps room for probes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.status_db import Known
from support.status_http import get, known_db, running

from monitor.observe.status.source import MAX_PENDING


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    yield from known_db("sqlite", tmp_path)


async def test_reads_beyond_the_bound_are_refused_at_once_and_health_answers(
    known: Known,
) -> None:
    async with running(known) as srv:
        source = srv._status
        assert source is not None
        release = threading.Event()
        real = source.repo.list_targets

        def stuck(query: Any) -> Any:  # a read that takes as long as the test says
            release.wait(30)
            return real(query)

        source.repo.list_targets = stuck  # type: ignore[method-assign]
        waiting = [
            asyncio.create_task(get(srv, "/api/v1/targets?state=down")) for _ in range(MAX_PENDING)
        ]
        try:
            for _ in range(500):  # until every one is admitted (bounded)
                if source.pending == MAX_PENDING:
                    break
                await asyncio.sleep(0.01)
            assert source.pending == MAX_PENDING
            status, body, headers = await asyncio.wait_for(
                get(srv, "/api/v1/targets?state=down"), 20
            )
            assert status == 503 and headers["Retry-After"] == "1"
            assert body == '{"error":"too many status requests now"}'
            status, body, headers = await asyncio.wait_for(get(srv, "/targets"), 20)
            assert status == 503 and "too many" in body
            assert headers["Content-Security-Policy"].startswith("default-src 'none'")
            status, body, _ = await asyncio.wait_for(get(srv, "/healthz"), 20)
            assert (status, body) == (200, "ok\n")
        finally:
            release.set()
            answers = await asyncio.gather(*waiting)
        assert [a[0] for a in answers] == [200] * MAX_PENDING
        assert source.pending == 0
