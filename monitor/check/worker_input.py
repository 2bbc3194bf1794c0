"""A checker process's input: stdin's frames → its settings, a queue of targets,
and the ids of requests the parent cancels (monitor.check.worker).

Only the pipe format and the settings model are imported: the worker's import
list stays lean.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from monitor.check.pipe import Frames, Request, is_requests, requests_from_frame
from monitor.config import Settings

QUEUED_ROUNDS = 4  # targets decoded and queued per checker; the rest is held as bytes
# request bytes held undecoded beyond which the daemon's stdin is paused: far
# above what it can send (see Targets), a guard against a parent that floods
HELD_BYTES = 64 << 20


class Targets(asyncio.Protocol):
    """stdin → the settings (its first frame), then a queue of targets, and the
    ids of requests the parent cancels (to `on_cancel`).

    One `None` per checker marks the end. Read through the event loop, not
    a buffered file, so targets are checked while more are arriving.

    Every frame is read as it arrives, so a cancel applies at once: paused
    once it held a few rounds of targets, the worker left the daemon's cancels
    in the pipe behind request frames, and at a stop went on starting the
    queued requests they cancelled (1,216 after SIGTERM at concurrency 1024).
    Only QUEUED_ROUNDS rounds of targets are decoded into the queue; request
    frames beyond them are held as their raw bytes (marshal, compact: the bytes
    the parent would otherwise hold in its write buffer) and decoded as the
    queue runs low. A cancel of a held request is applied the same (`early` in
    Requests: ids rise in the order sent), and it is skipped once decoded.

    Memory and back-pressure: the daemon holds at most `concurrency` plus its
    queue ahead (16x, dispatch.py's `capacity`, pace.py) checks in flight over
    all its processes, each one request in a pipe or here, and sends no more
    until some are answered; at concurrency's limit (10,000), 170,000 requests
    are ~25-50 MB of frames, under HELD_BYTES. Its stream is read whole; past
    HELD_BYTES (a parent that floods) stdin is paused as before. `check`'s
    stream (targets keyed by their URL, never cancelled) holds the whole corpus
    at once: it is paused as soon as a frame is held, so the rest waits in the
    pipe and the parent, as before. Reading resumes when nothing is held and
    the queue is below a round.
    """

    def __init__(self) -> None:
        self.settings: asyncio.Future[Settings | None] = asyncio.get_running_loop().create_future()
        self.queue: asyncio.Queue[Request | None] = asyncio.Queue()
        self.on_cancel: Callable[[tuple[int, ...]], None] = lambda ids: None
        # after a stop (`stop`): told when requests were queued, to answer them
        self.on_queued: Callable[[], None] | None = None
        self.checkers = 0  # known once the settings are
        self.ended = False  # no more input
        self.finished = False  # the end is in the queue
        self.frames = Frames()
        self.held: deque[bytes] = deque()  # request frames not decoded yet
        self.held_bytes = 0
        self.cancellable = False  # requests keyed by id (the daemon's): read whole
        self.error: str | None = None  # input that is not our format
        self.transport: asyncio.ReadTransport | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.ended:
            return
        try:
            for payload in self.frames.feed(data):
                if not self.settings.done():
                    settings = Settings.model_validate_json(payload)
                    self.checkers = max(1, settings.concurrency)
                    self.settings.set_result(settings)
                elif (
                    is_requests(payload)
                    and self.on_queued is None
                    and (self.held or self.queue.qsize() >= QUEUED_ROUNDS * self.checkers)
                ):
                    self.held.append(payload)
                    self.held_bytes += len(payload)
                else:
                    self._decode(payload)
        except ValueError as exc:  # a CorruptFrame, or pydantic's on bad settings
            self._fail(exc, keep_held=True)  # the frames held came before it: checked
            return
        if (
            self.transport is not None
            and not self.paused
            and self.held_bytes > (HELD_BYTES if self.cancellable else 0)
        ):
            self.transport.pause_reading()
            self.paused = True

    def _decode(self, payload: bytes) -> None:
        targets, cancels = requests_from_frame(payload)
        if targets and targets[0][2].__class__ is int:
            self.cancellable = True
        for target in targets:
            self.queue.put_nowait(target)
        if cancels:
            self.on_cancel(cancels)
        elif self.on_queued is not None:
            self.on_queued()

    def stop(self, on_queued: Callable[[], None]) -> None:
        """A stop signal came: every request held undecoded is queued now, and
        those that arrive are queued as they come (none is held), each time
        telling `on_queued` (Requests.drain: it answers them, not started)."""
        self.on_queued = on_queued
        while self.held:
            payload = self.held.popleft()
            self.held_bytes -= len(payload)
            try:
                self._decode(payload)
            except ValueError as exc:
                self._fail(exc)
                return
        on_queued()
        if self.ended:
            self._finish()
        elif self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def _fail(self, exc: ValueError, *, keep_held: bool = False) -> None:
        if self.error is None:
            self.error = f"unreadable input from the parent: {type(exc).__name__}: {exc}"[:500]
        if not keep_held:  # a held frame that does not decode: nothing after it is believed
            self.held.clear()
            self.held_bytes = 0
        if self.transport is not None:
            self.transport.close()  # connection_lost ends the queue
        self._end()

    def taken(self) -> None:
        """A checker took a target: decode held frames once the queue runs low,
        and read on once nothing is held."""
        queue, low = self.queue, self.checkers
        while self.held and queue.qsize() < low:
            payload = self.held.popleft()
            self.held_bytes -= len(payload)
            try:
                self._decode(payload)
            except ValueError as exc:
                self._fail(exc)
                return
        if not self.held:
            if self.ended:
                self._finish()
            elif self.paused and self.transport is not None and queue.qsize() < low:
                self.paused = False
                self.transport.resume_reading()

    def eof_received(self) -> None:
        if self.frames.pending and self.error is None:
            self.error = f"input ended inside a frame ({self.frames.pending} bytes)"
        self._end()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()  # after eof_received, or instead of it on an error

    def _end(self) -> None:
        if not self.settings.done():
            self.settings.set_result(None)
        self.ended = True
        if not self.held:  # else once the held frames are decoded (`taken`)
            self._finish()

    def _finish(self) -> None:
        if not self.finished:  # once
            self.finished = True
            for _ in range(self.checkers):
                self.queue.put_nowait(None)
