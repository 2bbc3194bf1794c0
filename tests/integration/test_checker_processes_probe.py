"""The daemon's checker processes keep the soft-404 probe's answers in its SQLite
database as its in-process checker does (issue 15): a checker process started
later (a restarted daemon, a replaced process) takes them and does not probe the
same host and directory again within the day."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.servers import app_server
from support.settings import settings
from test_probe import probes, routes

from monitor.daemon.checkers import ProcessChecker
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.vocabulary import Kind, ProblemCode

WAIT_S = 10.0  # bound for the answer's write to land: a hang guard, not a timing


async def kept_rows(repo: Repository) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        rows = await asyncio.to_thread(repo.probe_answers, 0)
        if rows or loop.time() > deadline:
            return len(rows)
        await asyncio.sleep(0.05)


async def test_checker_processes_keep_probe_answers_across_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'am.db'}"
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    try:
        async with app_server(routes(any_path=True)) as srv:
            s = settings({"a.example": srv.port}, soft_404_probe=True)
            async with ProcessChecker(s, 1, probe_db=url) as first:
                shell = await first.check("http://a.example/old/story-1", Kind.WEB)
                assert await kept_rows(repo) == 1
            assert [p.code for p in shell.problems] == [ProblemCode.SOFT_404]
            assert sum(probes(srv.hits).values()) == 1
            async with ProcessChecker(s, 1, probe_db=url) as second:
                again = await second.check("http://a.example/old/story-3", Kind.WEB)
            assert [p.code for p in again.problems] == [ProblemCode.SOFT_404]
            assert sum(probes(srv.hits).values()) == 1  # judged by the kept answer
    finally:
        engine.dispose()
