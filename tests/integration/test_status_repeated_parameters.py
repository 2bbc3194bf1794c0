"""A parameter given twice is refused by the real status server whatever its first
value (docs/operations.md, "Filters"), empty included: `state=&state=down` listed the
down targets and `availability=&availability=24h` added each item's availability,
while the same pairs the other way round were refused (R29)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.status_http import get, get_json, known_db, running

PAIRS = [
    ("state=&state=down", "state"),
    ("q=&q=zzz", "q"),
    ("limit=&limit=5", "limit"),
    ("cursor=&cursor=x", "cursor"),
]


@pytest.mark.parametrize(("query", "parameter"), PAIRS)
async def test_given_twice_with_an_empty_first_value(
    tmp_path: Path, query: str, parameter: str
) -> None:
    for known in known_db("sqlite", tmp_path):
        async with running(known) as srv:
            body = await get_json(srv, f"/api/v1/targets?{query}", 400)
            assert body == {"error": f"{parameter} is given more than once", "parameter": parameter}
            # the other way round, as before
            flipped = "&".join(reversed(query.split("&")))
            again = await get_json(srv, f"/api/v1/targets?{flipped}", 400)
            assert again["parameter"] == parameter
            status, page, _ = await get(srv, f"/targets?{query}")
            assert status == 400 and f"{parameter} is given more than once" in page


async def test_the_api_opt_in_given_twice(tmp_path: Path) -> None:
    for known in known_db("sqlite", tmp_path):
        async with running(known) as srv:
            body = await get_json(srv, "/api/v1/targets?availability=&availability=24h", 400)
            assert body["parameter"] == "availability"
            body = await get_json(srv, "/api/v1/status?limit=&limit=3", 400)
            assert body["parameter"] == "limit"
            # one empty value is still "any" (an HTML form's), and one value is taken
            page = await get_json(srv, "/api/v1/targets?state=&kind=&limit=3")
            assert len(page["items"]) == 3
            status, _, _ = await get(srv, "/targets?state=&kind=&provider=&outcome=&problem=&q=")
            assert status == 200
