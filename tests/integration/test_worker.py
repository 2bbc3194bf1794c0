"""`python -m monitor.worker` over real pipes: targets in as they come, results out in batches."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.settings import settings

from monitor.model import Kind, Outcome
from monitor.parallel import WorkerFailed, WorkerPool
from monitor.wire import results_from_line, targets_line


def closed_port() -> int:
    """A loopback port nobody listens on: every check is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_checks_targets_arriving_in_parts_and_pauses_its_input() -> None:
    port = closed_port()
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(300)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    # concurrency 2: 300 targets are far more than the worker queues before pausing stdin
    proc.stdin.write(settings(concurrency=2).model_dump_json().encode() + b"\n")
    proc.stdin.write(targets_line([(Kind.WEB, u) for u in urls[:100]]))
    await proc.stdin.drain()
    first = await asyncio.wait_for(proc.stdout.readline(), 20)  # checked before the rest came
    for start in range(100, 300, 50):
        proc.stdin.write(targets_line([(Kind.IMAGE, u) for u in urls[start : start + 50]]))
    await proc.stdin.drain()
    proc.stdin.close()
    rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    lines = [first, *rest.splitlines()]
    assert len(lines) < len(urls)  # batched, not a line per result
    got = [pair for line in lines for pair in results_from_line(line)]
    assert sorted(key for key, _ in got) == sorted(urls)  # each target once
    for key, result in got:
        assert result.url == key
        assert result.outcome is Outcome.CONNECTION_ERROR
        assert result.kind is (Kind.WEB if int(key.rsplit("/", 1)[1]) < 100 else Kind.IMAGE)


async def test_worker_without_settings_exits_cleanly() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(b""), 20)
    assert (proc.returncode, out) == (0, b"")


class _SilentPool(WorkerPool):
    # a worker that reads everything it is given, answers nothing and exits 0
    worker_args = ("-c", "import sys; sys.stdin.buffer.read()")


async def test_a_worker_that_exits_cleanly_without_every_result_fails_the_run() -> None:
    """Exit status 0 is not enough: a missing result must never pass silently."""
    port = closed_port()
    async with _SilentPool(settings(concurrency=2), 2, local=False) as pool:
        for n in range(10):
            pool.submit(Kind.WEB, f"http://127.0.0.1:{port}/{n}")
        pool.close_input()
        with pytest.raises(WorkerFailed, match=r"returned 0 results for \d+ targets"):
            async for _ in pool.batches():
                pass


@pytest.mark.parametrize("source", ["file", "socket"])
def test_worker_reads_targets_from_a_file_or_a_socket(source: str, tmp_path: Path) -> None:
    """A manual run (`< targets`) and a socket stdin (uvloop's subprocess pipes)
    check every target, like a pipe does."""
    port = closed_port()
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(5)]
    data = settings(concurrency=2).model_dump_json().encode() + b"\n"
    data += targets_line([(Kind.WEB, u) for u in urls])
    cmd = [sys.executable, "-m", "monitor.worker"]
    if source == "file":
        (tmp_path / "in").write_bytes(data)
        with (tmp_path / "in").open("rb") as stdin:
            out = subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=60, check=True)
    else:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            proc = subprocess.Popen(cmd, stdin=theirs, stdout=subprocess.PIPE)
            theirs.close()
            ours.sendall(data)
            ours.shutdown(socket.SHUT_WR)
            stdout, _ = proc.communicate(timeout=60)
            out = subprocess.CompletedProcess(cmd, proc.returncode, stdout)
    assert out.returncode == 0
    got = [key for line in out.stdout.splitlines() for key, _ in results_from_line(line)]
    assert sorted(got) == sorted(urls)
