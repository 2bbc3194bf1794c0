"""A cursor is not secret (any position may be read), so anyone can forge one:
a forged position near the largest id, with a filter that scans a window,
is an empty last page, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.status_db import Known
from support.status_http import get, known_db, running

from monitor.observe.status.filters import MAX_ID, Filters, encode_cursor


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    yield from known_db("sqlite", tmp_path)


@pytest.mark.parametrize(
    "filters", [Filters(q="example"), Filters(problem="soft_404"), Filters(state="down")]
)
async def test_a_forged_cursor_at_the_largest_id_is_an_empty_last_page(
    known: Known, filters: Filters
) -> None:
    query = "&".join(f"{k}={v}" for k, v in filters.params().items())
    async with running(known) as srv:
        for after in (MAX_ID - 1, MAX_ID - 100_000, MAX_ID):
            cursor = encode_cursor(after, filters)
            status, body, _ = await get(srv, f"/api/v1/targets?{query}&cursor={cursor}")
            assert (status, json.loads(body)) == (200, {"items": [], "next_cursor": None})
            status, body, _ = await get(srv, f"/targets?{query}&cursor={cursor}")
            assert status == 200, body
