"""`python -m monitor.check.worker` over real pipes: targets in as they come, results out
in batches; a worker whose output is torn or garbage fails the run instead of passing
silently."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import refusing_port
from support.settings import settings

from monitor.check.pipe import Frames, frame, results_frame, results_from_frame, targets_frame
from monitor.check.processes import WorkerFailed, WorkerPool
from monitor.vocabulary import Kind, Outcome


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """A loopback port that refuses every connection at once, held for the
    module so that no other test can take it meanwhile."""
    with refusing_port() as held:
        yield held


WORKER = (sys.executable, "-m", "monitor.check.worker")


async def start_worker() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *WORKER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )


def settings_frame(**overrides: object) -> bytes:
    return frame(settings(**overrides).model_dump_json().encode())


def worker_output(data: bytes) -> list[bytes]:
    """The frames a worker wrote: all of them whole."""
    reader = Frames()
    payloads = list(reader.feed(data))
    assert reader.pending == 0
    return payloads


async def read_frame(stream: asyncio.StreamReader) -> bytes:
    header = await stream.readexactly(4)
    return await stream.readexactly(int.from_bytes(header, "little"))


async def test_worker_checks_targets_arriving_in_parts(port: int) -> None:
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(300)]
    proc = await start_worker()
    assert proc.stdin is not None and proc.stdout is not None
    # concurrency 2: 300 targets are far more than the worker queues before pausing stdin
    proc.stdin.write(settings_frame(concurrency=2))
    proc.stdin.write(targets_frame([(Kind.WEB, u) for u in urls[:100]]))
    await proc.stdin.drain()
    first = await asyncio.wait_for(read_frame(proc.stdout), 20)  # checked before the rest came
    for start in range(100, 300, 50):
        batch = targets_frame([(Kind.IMAGE, u) for u in urls[start : start + 50]])
        proc.stdin.write(batch[:7])  # a frame may arrive in pieces
        await proc.stdin.drain()
        proc.stdin.write(batch[7:])
    await proc.stdin.drain()
    proc.stdin.close()
    rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    frames = [first, *worker_output(rest)]
    assert len(frames) < len(urls)  # batched, not a frame per result
    got = [pair for payload in frames for pair in results_from_frame(payload)]
    assert sorted(key for key, _ in got) == sorted(urls)  # each target once
    for key, result in got:
        assert result.url == key
        assert result.outcome is Outcome.CONNECTION_ERROR
        assert result.kind is (Kind.WEB if int(key.rsplit("/", 1)[1]) < 100 else Kind.IMAGE)


async def test_worker_without_settings_exits_cleanly() -> None:
    proc = await start_worker()
    out, _ = await asyncio.wait_for(proc.communicate(b""), 20)
    assert (proc.returncode, out) == (0, b"")


class _SilentPool(WorkerPool):
    # a worker that reads everything it is given, answers nothing and exits 0
    worker_args = ("-c", "import sys; sys.stdin.buffer.read()")


@pytest.mark.parametrize("source", ["file", "socket"])
def test_worker_reads_targets_from_a_file_or_a_socket(
    source: str, tmp_path: Path, port: int
) -> None:
    """A manual run (`< targets`) and a socket stdin (uvloop's subprocess pipes)
    check every target, like a pipe does."""
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(5)]
    data = settings_frame(concurrency=2) + targets_frame([(Kind.WEB, u) for u in urls])
    cmd = list(WORKER)
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
    got = [key for p in worker_output(out.stdout) for key, _ in results_from_frame(p)]
    assert sorted(got) == sorted(urls)


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (b"\x40\x00\x00\x00abc", b"input ended inside a frame"),  # the parent died mid-write
        (b"GET / HTTP/1.1\r\n\r\n", b"unreadable input"),  # not our format at all
        (frame(b"\x00garbage"), b"unreadable input"),  # a frame, but not of targets
    ],
)
def test_a_worker_checks_what_it_could_read_and_fails_on_broken_input(
    tail: bytes, reason: bytes, port: int
) -> None:
    urls = [f"http://127.0.0.1:{port}/{n}" for n in range(3)]
    data = settings_frame(concurrency=2) + targets_frame([(Kind.WEB, u) for u in urls]) + tail
    out = subprocess.run(WORKER, input=data, capture_output=True, timeout=60)
    assert out.returncode == 1 and reason in out.stderr and b"Traceback" not in out.stderr
    got = [key for p in worker_output(out.stdout) for key, _ in results_from_frame(p)]
    assert sorted(got) == sorted(urls)


class _TornPool(WorkerPool):
    # answers one whole frame of no results, then half a frame, and exits 0
    torn = results_frame([]) + b"\x10\x00\x00\x00ab"
    worker_args = ("-c", f"import sys; sys.stdin.buffer.read(); sys.stdout.buffer.write({torn!r})")


class _ChattyPool(WorkerPool):
    # prints text to stdout, as a stray print() would, and keeps running
    worker_args = (
        "-c",
        "import sys, time; print('hello from the worker', flush=True); time.sleep(60)",
    )


class _DyingPool(WorkerPool):
    # half a frame, then a crash
    worker_args = ("-c", "import os, sys; sys.stdout.buffer.write(b'\\x10\\x00'); os._exit(3)")


@pytest.mark.parametrize(
    ("pool_class", "message"),
    [
        # exit status 0 is not enough: a missing result must never pass silently
        (_SilentPool, r"returned 0 results for \d+ targets"),
        (_TornPool, r"last frame of results unfinished \(6 bytes\)"),
        (_ChattyPool, r"sent output that is not results \(CorruptFrame"),
        (_DyingPool, r"exit status 3"),
    ],
)
async def test_a_worker_with_missing_torn_or_garbage_output_fails_the_run(
    pool_class: type[WorkerPool], message: str, port: int
) -> None:
    async with pool_class(settings(concurrency=2), 2, local=False) as pool:
        for n in range(10):
            pool.submit(Kind.WEB, f"http://127.0.0.1:{port}/{n}")
        pool.close_input()
        with pytest.raises(WorkerFailed, match=message):
            async with asyncio.timeout(30):  # the chatty worker is killed, not waited for
                async for batch in pool.batches():
                    assert batch == []  # the torn worker's one whole (empty) frame


class _Reading(asyncio.ReadTransport):
    """Records pause/resume, as the worker's stdin transport would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def is_reading(self) -> bool:
        return not self.calls or self.calls[-1] == "resume"


async def test_worker_pauses_its_input_past_a_few_rounds_and_resumes_when_low() -> None:
    from monitor.check.worker_input import QUEUED_ROUNDS, Targets

    reader = Targets()
    transport = _Reading()
    reader.connection_made(transport)
    reader.data_received(settings_frame(concurrency=2))
    targets = [(Kind.WEB, f"http://127.0.0.1:1/{n}") for n in range(QUEUED_ROUNDS * 2)]
    reader.data_received(targets_frame(targets))
    assert transport.calls == []  # at the limit, not past it
    reader.data_received(targets_frame([(Kind.WEB, "http://127.0.0.1:1/more")]))
    assert transport.calls == ["pause"]
    while reader.queue.qsize() >= 2:  # checkers take targets
        reader.queue.get_nowait()
        reader.taken()
    assert transport.calls == ["pause", "resume"]
