"""Workers spawned before the run (monitor.check.prestart) and adopted by the pool:
they check like workers the pool spawns, fail the run the same ways, and a spare
one is reaped, never left running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import refusing_port
from support.settings import settings

from monitor.check import prestart
from monitor.check.processes import WorkerFailed, WorkerPool
from monitor.vocabulary import Kind, Outcome


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with refusing_port() as held:
        yield held


async def test_prestarted_workers_are_adopted_and_check_every_target(port: int) -> None:
    procs = prestart.spawn(2)
    assert len(procs) == 2
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(200)]
    async with WorkerPool(settings(concurrency=4), 3, prestarted=procs) as pool:
        assert [c.transport.get_pid() for c in pool.channels if c.transport] == [
            p.pid for p in procs
        ]
        for url in urls:
            pool.submit(Kind.WEB, url)
        pool.close_input()
        got = [pair async for batch in pool.batches() for pair in batch]
    assert sorted(url for url, _ in got) == sorted(urls)  # each once, parent's share included
    assert {r.outcome for _, r in got} == {Outcome.CONNECTION_ERROR}
    assert [p.returncode for p in procs] == [0, 0]


async def test_a_pool_smaller_than_the_prestarted_workers_reaps_the_spare_ones(port: int) -> None:
    procs = prestart.spawn(3)
    async with WorkerPool(settings(concurrency=2), 2, prestarted=procs) as pool:
        assert [p.returncode for p in procs[1:]] != [None, None]  # reaped at once
        pool.submit(Kind.WEB, f"http://127.0.0.1:{port}/x")
        pool.close_input()
        got = [pair async for batch in pool.batches() for pair in batch]
    assert len(got) == 1
    assert all(p.returncode is not None for p in procs)


TORN = b"\x10\x00\x00\x00ab"  # a frame of 16 bytes, cut after 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-c", "import sys; sys.stdin.buffer.read()"), r"returned 0 results for \d+ targets"),
        (("-c", f"import sys; sys.stdout.buffer.write({TORN!r})"), r"unfinished \(6 bytes\)"),
        (("-c", "import os, sys; sys.stdin.buffer.read(1); os._exit(3)"), r"exit status 3"),
    ],
)
async def test_an_adopted_worker_with_missing_or_torn_output_fails_the_run(
    args: tuple[str, ...], message: str, port: int
) -> None:
    procs = prestart.spawn(1, args)
    async with WorkerPool(settings(concurrency=2), 1, local=False, prestarted=procs) as pool:
        for n in range(10):
            pool.submit(Kind.WEB, f"http://127.0.0.1:{port}/{n}")
        pool.close_input()
        with pytest.raises(WorkerFailed, match=message):
            async with asyncio.timeout(30):
                async for _ in pool.batches():
                    pass
    assert procs[0].returncode is not None


def test_discarded_workers_exit_and_are_reaped() -> None:
    procs = prestart.spawn(2)
    prestart.discard(procs)
    assert all(p.returncode is not None for p in procs)


def test_workers_wanted_by_flag_and_by_corpus_size(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("{}\n" * 10)
    assert prestart.workers_wanted(0, False, [small]) == 0  # decided later, by count
    assert prestart.workers_wanted(3, False, [small]) == 3  # asked for: at once
    assert prestart.workers_wanted(1, False, [small]) == 0
    assert prestart.workers_wanted(3, True, [small]) == 0  # offline: no network, no workers
    big = tmp_path / "d" / "e"
    big.mkdir(parents=True)
    enough = prestart.AUTO_MIN_TARGETS * prestart.BYTES_PER_TARGET
    (big / "a.jsonl").write_bytes(b" " * (enough // 2))
    (big / "b.txt").write_bytes(b" " * (enough // 2))
    (big / "c.bin").write_bytes(b" " * enough)  # not a corpus file: not counted
    (big / ".hidden.jsonl").write_bytes(b" " * enough)
    assert prestart.corpus_bytes([tmp_path / "d"], enough) == enough
    auto = prestart.auto_workers(0, prestart.AUTO_MIN_TARGETS)
    assert prestart.workers_wanted(0, False, [tmp_path / "d"]) == auto
    assert prestart.workers_wanted(0, False, [tmp_path / "missing"]) == 0
