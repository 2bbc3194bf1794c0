"""The lists' availability over 24 h: a page of targets read in one statement
(Repository.availability_24h), on real SQLite and PostgreSQL, held to each
target's own read (`availability(...)["24h"]`, the target page's); shown by the
real status server in the `/targets` list and, when asked (`availability=24h`),
in `/api/v1/targets`, as the OpenAPI document describes."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import Engine, insert, text
from support.status_db import Known
from support.status_http import get, get_json, known_db, running

from monitor.availability import DAY_MS, Share
from monitor.daemon.maintenance import roll_up
from monitor.storage import partitions
from monitor.storage.availability import page_query
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import RESULTS, Repository
from monitor.storage.store import now_ms

HOUR = 3_600_000
DAY = 20_400  # 2025-11-08, days since the epoch
NOW = DAY * DAY_MS + 12 * HOUR + HOUR // 2  # 12:30 UTC
DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def every(now: int, step: int, count: int, target: int, failed: Any) -> list[dict[str, int]]:
    """`count` results `step` apart back from half an hour before `now`; the k-th
    failed (http_error, code 3) when failed(k), else ok (code 0)."""
    return [
        {
            "target_id": target,
            "checked_at": now - HOUR // 2 - k * step,
            "outcome": 3 if failed(k) else 0,
            "latency_ms": 50,
        }
        for k in range(count)
    ]


@pytest.fixture(params=DIALECTS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    from support.pg import pg_engine

    for eng in pg_engine():
        upgrade(eng)
        with eng.begin() as conn:  # the days' partitions, as the leader makes them
            partitions.ensure(conn, NOW, first_day=DAY - 5)
        yield eng


def test_a_page_reads_what_each_target_page_reads(engine: Engine) -> None:
    """Five targets over three days, every finished day rolled up, then the results
    before 18:30 yesterday purged (a cut inside the 24 h window, as SQLite's purge
    makes): the page's one read gives each target's 24 h as its own page does; the
    window's ends are (now - 24 h, now]; no check is null, not 0 % or 100 %; and no
    rollup counts (yesterday's, whole with 24 checks, is not inside the window)."""
    rows = [
        *every(NOW, HOUR, 72, 1, lambda k: k % 10 == 0),
        # flapping: up now, 2 of each 5 checks failed
        *every(NOW, HOUR, 72, 2, lambda k: k % 5 in (3, 4)),
        # checked only before the window: nothing in it
        *[r for r in every(NOW, HOUR, 72, 3, lambda k: False) if r["checked_at"] < NOW - DAY_MS],
    ]
    with engine.begin() as conn:
        conn.execute(insert(RESULTS), rows)
    repo = Repository(engine)
    roll_up(repo, NOW, 365, NOW)
    cutoff = NOW - DAY_MS + 6 * HOUR  # yesterday 18:30: k = 18..23 purged
    repo.purge_results(cutoff)
    # on the window's ends: its start is out, `now` in
    ends = [(NOW - DAY_MS, 0), (NOW - DAY_MS + 1, 3), (NOW, 1)]
    with engine.begin() as conn:
        conn.execute(
            insert(RESULTS),
            [{"target_id": 5, "checked_at": at, "outcome": c, "latency_ms": 1} for at, c in ends],
        )
    ids = [1, 2, 3, 4, 5]
    page = repo.availability_24h(ids, NOW)
    assert page == {t: repo.availability(t, NOW)["24h"] for t in ids}
    assert page[1] == Share(18, 16)  # k = 0..17, k = 0 and 10 failed
    assert page[2] == Share(18, 12)  # k % 5 in (3, 4): 3 4 8 9 13 14 failed
    assert page[3] == page[4] == Share() and page[3].ratio is None
    assert page[5] == Share(2, 1)
    for at, share in ((NOW - 1, Share(2, 1)), (NOW + 1, Share(1, 1))):
        assert repo.availability_24h([5], at) == {5: share} == {5: repo.availability(5, at)["24h"]}
    assert repo.availability_24h([], NOW) == {}


@pytest.mark.postgres
def test_on_postgresql_the_read_touches_the_two_days_partitions_only() -> None:
    """The page's read on 40 days of daily partitions (and the default): only the
    window's two days are scanned, each through its primary key's index or its
    table, whatever the number of ids."""
    from support.pg import pg_engine

    for eng in pg_engine():
        upgrade(eng)
        with eng.begin() as conn:
            partitions.ensure(conn, NOW, first_day=DAY - 40)
            conn.execute(insert(RESULTS), every(NOW, HOUR, 40 * 24, 1, lambda k: False))
            conn.execute(text("ANALYZE"))
        for ids in ([1], list(range(1, 1001))):
            sql = str(page_query(ids, NOW).compile(eng, compile_kwargs={"literal_binds": True}))
            with eng.connect() as conn:
                plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN (COSTS OFF) " + sql)))
            touched = set(re.findall(r"\bon (check_results_\w+)", plan))
            assert touched <= {partitions.name_of(DAY - 1), partitions.name_of(DAY)}, plan
            assert partitions.name_of(DAY) in touched, plan


@pytest.fixture(params=DIALECTS)
def recent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    """The status tests' known database (support/status_db.py: 250 targets, their
    results from 2023), with target 1 checked hourly for the last 30 hours (every
    10th failed) and target 2, up, every 2.5 hours (4 of its last 10 failed)."""
    for known in known_db(request.param, tmp_path):
        now = now_ms()
        with known.engine.begin() as conn:
            conn.execute(insert(RESULTS), every(now, HOUR, 30, 1, lambda k: k % 10 == 0))
            conn.execute(
                insert(RESULTS), every(now, 5 * HOUR // 2, 15, 2, lambda k: k in (1, 4, 5, 8))
            )
        yield known


def row_of(page: str, target: int) -> str:
    """The list's row of one target, by its link."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if f'href="/targets/{target}"' in row:
            return str(row)
    raise AssertionError(f"no row for target {target}")


async def test_the_list_page_has_a_24_h_column(recent: Known) -> None:
    async with running(recent) as srv:
        status, page, headers = await get(srv, "/targets")
        assert status == 200
        assert "script-src" not in headers["Content-Security-Policy"]  # none allowed
        assert ">24 h</abbr></th>" in page
        # state, then the share over 24 h with its counts for the eye and the ear
        flapping = htmllib.unescape(row_of(page, 2))
        assert (
            '<td class="num"><span title="6 of 10 checks up over the last 24 h">60.0%</span>'
            in (flapping)
        ), flapping
        assert '<span class="vh"> (6 of 10 checks up over the last 24 h)</span>' in flapping
        assert "state-up" in flapping
        assert ">87.5%</span>" in row_of(page, 1)  # 21 of 24
        none = row_of(page, 4)  # its results are from 2023
        dash = '<span title="no checks over the last 24 h" aria-hidden="true">—</span>'
        assert dash in none, none
        assert "%</span>" not in none
        status, page, _ = await get(srv, "/targets?state=down&limit=3")  # filtered too
        assert status == 200 and row_of(page, 3).count("no checks over the last 24 h") == 2


async def test_the_api_lists_it_when_asked_as_its_document_says(recent: Known) -> None:
    async with running(recent) as srv:
        spec = await get_json(srv, "/api/v1/openapi.json")
        validate_spec(spec)
        schema = {
            **spec["paths"]["/api/v1/targets"]["get"]["responses"]["200"]["content"][
                "application/json"
            ]["schema"],
            "components": spec["components"],
        }
        plain = await get_json(srv, "/api/v1/targets?limit=3")
        jsonschema.validate(plain, schema)
        assert all("availability_24h" not in item for item in plain["items"])
        seen: dict[int, Any] = {}
        cursor = ""
        for _ in range(100):  # bounded: 250 targets, 60 a page
            page = await get_json(srv, f"/api/v1/targets?availability=24h&limit=60{cursor}")
            jsonschema.validate(page, schema)
            seen |= {item["id"]: item["availability_24h"] for item in page["items"]}
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert len(seen) == len(recent.ids(active=True))
        assert seen[1] == {"checks": 24, "up": 21, "ratio": 21 / 24}
        assert seen[2] == {"checks": 10, "up": 6, "ratio": 0.6}
        assert seen[4] == {"checks": 0, "up": 0, "ratio": None}
        for tid in (1, 2, 4):
            detail = await get_json(srv, f"/api/v1/targets/{tid}")
            assert seen[tid] == detail["availability"]["24h"]
        for query in ("availability=7d", "availability=24h&availability=24h"):
            bad = await get_json(srv, f"/api/v1/targets?{query}", 400)
            assert bad["parameter"] == "availability", bad
