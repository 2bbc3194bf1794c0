"""One checker process's pipes, seen from the parent: frames in, results out.

Its stdout is cut into frames (monitor.check.pipe) and decoded into result
batches for the pool's inbox; output that is not a frame of the format is
not believed, and the process is killed (`error` says why).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import cast

from monitor.check.pipe import FLAG_REF, HOLDS, Frames, answers_from_frame, holds_from_frame
from monitor.vocabulary import CheckResult

Batch = list[tuple[str, CheckResult]]


class Channel(asyncio.SubprocessProtocol):
    """One worker's pipes: splits its stdout into frames and decodes them."""

    def __init__(self, inbox: deque[Batch | None], wake: asyncio.Event) -> None:
        self.inbox = inbox
        self.wake = wake
        self.frames = Frames()
        self.error: str | None = None  # why its output cannot be trusted
        self.torn = 0  # bytes of an unfinished frame when its output ended
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.exited = asyncio.Event()
        self.output_ended = asyncio.Event()  # its stdout closed: every result is in the inbox
        self.sent = 0  # targets handed to the worker
        self.received = 0  # results it sent back (and requests it says it cancelled)
        # the ids it answered as cancelled: those the parent cancelled, and those it
        # skipped when a stop signal reached it (the daemon's: checkers.py)
        self.cancelled: list[int] = []
        # hosts the daemon's worker holds back: host key -> (the hold's end,
        # time.monotonic(); its last backoff, 0 once an answer ended its refusals)
        # from its holds frames (pipe.py); read by `WorkerHolds`
        self.holds: dict[str, tuple[float, float]] = {}
        # hosts whose hold began or grew since the parent last looked, with the
        # seconds left: their requests not yet sent to the worker are taken back
        self.held_new: dict[str, float] = {}
        # requests it gave back, not started, as their host is held: id -> the
        # seconds of the hold left (requests.py); taken by the daemon's `_deliver`
        self.deferred: dict[int, float] = {}
        self.early: list[bytes] = []  # written before the pipe was connected
        self.early_close = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # duck-typed: uvloop's transports do not derive from asyncio's classes
        self.transport = cast(asyncio.SubprocessTransport, transport)
        stdin = cast(asyncio.WriteTransport | None, self.transport.get_pipe_transport(0))
        self.stdin = stdin
        if stdin is None:
            return
        # some loops (uvloop) connect only after subprocess_exec has returned
        for data in self.early:
            stdin.write(data)
        self.early.clear()
        if self.early_close:
            stdin.close()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self.error is not None:
            return  # nothing after garbage is believed
        try:
            for payload in self.frames.feed(data):
                if payload[0] & ~FLAG_REF == HOLDS:  # `is_holds`, inline: once a frame
                    holds, deferred = holds_from_frame(payload)
                    self._held(holds)
                    if deferred:
                        self.received += len(deferred)
                        self.deferred.update(deferred)
                    continue
                batch, cancelled = answers_from_frame(payload)
                self.received += len(batch) + len(cancelled)
                if batch:
                    self.inbox.append(batch)
                if cancelled:
                    self.cancelled.extend(cancelled)
        except Exception as exc:  # CorruptFrame, or a row the model rejects
            self.error = f"sent output that is not results ({type(exc).__name__}: {exc})"[:500]
            if self.transport is not None and self.transport.get_returncode() is None:
                self.transport.kill()  # it cannot be talked to any more
        self.wake.set()

    def _held(self, holds: dict[str, tuple[float, float]]) -> None:
        now = time.monotonic()
        for host, (left, backoff) in holds.items():
            if backoff > 0 or left > 0:
                self.holds[host] = (now + left, backoff)
                if left > 0:
                    self.held_new[host] = left
            else:  # answered: neither held nor refusing
                self.holds.pop(host, None)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 0:
            self.stdin = None  # the worker is gone: nothing more to send it
        elif fd == 1:
            self.torn = self.frames.pending  # a frame it did not finish
            self.inbox.append(None)  # end of this worker's results
            self.output_ended.set()
            self.wake.set()

    def process_exited(self) -> None:
        self.exited.set()

    def send(self, data: bytes, targets: int = 0) -> None:
        """Write to the worker; `targets` counts as assigned even if the pipe is
        gone, so targets that never reached it show up as missing results."""
        self.sent += targets
        if self.transport is None:
            self.early.append(data)
        elif self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(data)

    async def wait(self) -> int | None:
        """The exit status, once the process has ended."""
        await self.exited.wait()
        return self.transport.get_returncode() if self.transport else None

    def close_input(self) -> None:
        if self.transport is None:
            self.early_close = True
        elif self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()
