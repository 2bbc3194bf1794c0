"""The daemon keeps the soft-404 probe's answers in its database (issue 15): a new
probe (a restarted daemon) takes those that have not expired, on SQLite and
PostgreSQL, and a host that answered with a real 404 is left alone until its
answer expires. Clocks are injected: nothing waits."""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import UTC, datetime

import pytest
from yarl import URL

from monitor.daemon.probes import keep_probe_answers
from monitor.http.attempt import Attempt
from monitor.http.probe import PROBE_TTL_S, SoftProbe
from monitor.storage.repository import Repository
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome, ProblemCode

HOUR_MS = 3_600_000
WALL = 1_800_000_000_000


class Host:
    """A host whose answer to any probe is `status` with the shell page."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.sent: list[str] = []

    async def attempt(self, url: URL, kind: Kind) -> Attempt:
        self.sent.append(str(url))
        return Attempt(status=self.status, final_url=str(url), facts=SHELL)


SHELL = ContentFacts(title="Welcome", h1="Welcome", is_amp=False)


def page(path: str) -> CheckResult:
    return CheckResult(
        url=f"http://a.test{path}",
        kind=Kind.WEB,
        outcome=Outcome.OK,
        checked_at=datetime(2026, 12, 5, tzinfo=UTC),
        http_status=200,
        final_url=f"http://a.test{path}",
        facts=SHELL,
    )


async def run_db(fn, *args):  # type: ignore[no-untyped-def]
    return fn(*args)


async def start(repo: Repository, host: Host, wall: list[int], mono: list[float]) -> SoftProbe:
    probe = SoftProbe(host.attempt, random.Random(1), clock=lambda: mono[0])
    await keep_probe_answers(probe, repo, run_db, wall_ms=lambda: wall[0])
    return probe


async def judge(probe: SoftProbe, path: str) -> list[ProblemCode]:
    result = page(path)
    await probe.judge(result)
    await asyncio.sleep(0)  # the answer's write task runs
    await asyncio.sleep(0)
    return [p.code for p in result.problems]


async def test_a_new_probe_takes_the_kept_answers_until_they_expire(repo: Repository) -> None:
    host = Host(200)
    wall, mono = [WALL], [100.0]
    first = await start(repo, host, wall, mono)
    assert await judge(first, "/news/a") == [ProblemCode.SOFT_404]
    assert len(host.sent) == 1
    # a restart 23 hours later (its monotonic clock starts anew): no probe
    wall[0], mono[0] = WALL + 23 * HOUR_MS, 5.0
    second = await start(repo, host, wall, mono)
    assert await judge(second, "/news/b") == [ProblemCode.SOFT_404]
    assert len(host.sent) == 1
    # two hours on, the kept answer (a day old) has expired: probed again
    mono[0] += 2 * 3600
    wall[0] += 2 * HOUR_MS
    assert await judge(second, "/news/c") == [ProblemCode.SOFT_404]
    assert len(host.sent) == 2
    # and a restart past the first answer's day takes the new one, drops the old
    wall[0] = WALL + 25 * HOUR_MS
    rows = repo.probe_answers(wall[0])
    assert [r["expires"] for r in rows] == [WALL + 23 * HOUR_MS + 2 * HOUR_MS + 86_400_000]


async def test_a_real_404_spares_the_host_until_its_answer_expires(repo: Repository) -> None:
    host = Host(404)
    wall, mono = [WALL], [0.0]
    first = await start(repo, host, wall, mono)
    assert await judge(first, "/2020/a") == []
    assert await judge(first, "/2021/b") == []  # another directory, the same host
    assert len(host.sent) == 1
    wall[0], mono[0] = WALL + 12 * HOUR_MS, 0.0
    second = await start(repo, host, wall, mono)
    assert await judge(second, "/2022/c") == []
    assert len(host.sent) == 1
    mono[0] += PROBE_TTL_S / 2 + 1  # the 404 answer is a day old now
    await judge(second, "/2023/d")
    assert len(host.sent) == 2


async def test_a_database_that_cannot_be_read_means_probing_afresh(repo: Repository) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken(fn, *args):  # type: ignore[no-untyped-def]
        raise OperationalError("select", {}, Exception("database is locked"))

    host = Host(200)
    probe = SoftProbe(host.attempt, random.Random(1))
    assert await keep_probe_answers(probe, repo, broken) == 0
    assert await judge(probe, "/news/a") == [ProblemCode.SOFT_404]  # and a failed write is logged


async def test_a_directory_too_long_to_index_is_probed_but_not_kept(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL refuses an index entry over ~8 KB: a directory that long (a
    corpus may hold URLs of up to 64 KiB) failed each write of its answer with
    an error logged. Such an answer is kept in memory only; the others are
    kept as ever."""
    host = Host(200)
    wall, mono = [WALL], [0.0]
    probe = await start(repo, host, wall, mono)
    # incompressible (PostgreSQL compresses index entries)
    deep = "/" + "".join(hashlib.sha256(b"%d" % n).hexdigest() for n in range(300)) + "/story"
    assert await judge(probe, deep) == [ProblemCode.SOFT_404]
    assert await judge(probe, "/news/story") == [ProblemCode.SOFT_404]
    kept = repo.probe_answers(WALL)
    assert [row["directory"] for row in kept] == ["/news"]
    assert "cannot keep" not in caplog.text
