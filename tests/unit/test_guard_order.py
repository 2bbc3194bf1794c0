"""The order in which the endpoints' guard closes connections to make room
(monitor/observe/guard.py), on fake transports and an injected clock: which
one goes is decided by what each connection has done, not by the timing of
a real flood."""

from __future__ import annotations

import asyncio
from typing import Any

from monitor.observe.guard import ConnectionGuard, ConnectionLimits


class FakeTransport(asyncio.Transport):
    """No socket to peek at (nothing unread); a write buffer the test sets."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.aborted = False
        self.buffered = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True


class Clock:
    """The loop's time as the test sets it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.now = 1000.0
        loop.time = lambda: self.now  # type: ignore[method-assign]


async def _order(new_is_young: bool) -> list[str]:
    """One connection in each state; then newcomers, each busy once in, so that
    every admission closes one of the first: their names in the order closed."""
    loop = asyncio.get_running_loop()
    clock = Clock(loop)
    try:
        return _closed_in_order(clock, new_is_young)
    finally:
        del loop.time  # type: ignore[method-assign]  # the loop's own clock again


def _closed_in_order(clock: Clock, new_is_young: bool) -> list[str]:
    guard = ConnectionGuard(ConnectionLimits(max_connections=7, hello_grace=1.0))
    names = ("answered", "silent", "half", "writing", "new", "probe", "busy")
    conns = {name: FakeTransport(name) for name in names}
    for name, transport in conns.items():
        clock.now = 1004.0 if name == "new" and new_is_young else 1000.0
        assert guard.admit(transport)
    clock.now = 1004.0
    guard.heard(conns["half"], b"GET /api/v1/status HTTP/1.1\r\nX-")
    guard.heard(conns["probe"], b"GET /healthz HTTP/1.1\r\n")
    for name in ("answered", "writing"):
        guard.request_started(conns[name])
        guard.request_finished(conns[name])
    conns["writing"].buffered = 1 << 20  # its answer is still going out
    guard.request_started(conns["busy"])
    clock.now = 1004.5
    order: list[str] = []
    for _ in range(len(names) - 1):
        newcomer = FakeTransport("newcomer")
        assert guard.admit(newcomer)
        guard.request_started(newcomer)  # being answered: never a candidate itself
        order += [n for n, t in conns.items() if t.aborted and n not in order]
    assert not guard.admit(FakeTransport("one too many"))  # all being answered now
    assert guard.refused == 1 and not conns["busy"].aborted
    return order


async def test_room_is_made_from_the_least_costly_connection_first() -> None:
    assert await _order(new_is_young=True) == [
        "answered",  # already answered: closing it costs a reconnect
        "silent",  # has sent nothing in a second and more
        "half",  # midway through a request head
        "writing",  # answered, its answer still going out
        "new",  # has sent nothing, but connected a moment ago
        "probe",  # asks /healthz
    ]


async def test_a_new_connection_silent_past_its_grace_is_as_idle_as_any() -> None:
    order = await _order(new_is_young=False)
    assert order[:3] == ["answered", "silent", "new"]
