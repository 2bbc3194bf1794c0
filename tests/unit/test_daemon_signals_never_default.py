"""The daemon's handlers never leave a signal at its default action between
two handlers: SIGUSR1 and SIGUSR2 are ignored from `run`'s first line
(hup.ignore_stray_stops), and their default ends the process. Loop handlers
(`loop.add_signal_handler`) are removed by setting SIG_DFL, so the stop's
`Signals.remove` left them deadly for a moment before putting "ignored" back:
a `systemctl kill -s USR1` then ended the daemon (status -10)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.daemon import signals
from monitor.daemon.hup import USER_SIGNALS


@pytest.fixture
def handlers_kept() -> Iterator[None]:
    kept = {sig: signal.getsignal(sig) for sig in (*USER_SIGNALS, *signals.STOPS)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


def test_the_user_signals_are_never_left_at_their_default(
    monkeypatch: pytest.MonkeyPatch, handlers_kept: None
) -> None:
    for sig in USER_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # as `run`'s first line leaves them
    set_to: list[tuple[int, Any]] = []
    real = signal.signal

    def recorded(sig: int, handler: Any) -> Any:
        set_to.append((sig, handler))
        return real(sig, handler)

    monkeypatch.setattr(signal, "signal", recorded)

    async def a_daemon() -> list[Any]:
        async def reload() -> None:
            pass

        handlers = signals.Signals(reload, lambda coro, name: coro.close())
        handlers.install(lambda: None, lambda: None)
        during = [signal.getsignal(sig) for sig in USER_SIGNALS]
        handlers.remove()
        return during

    during = asyncio.run(a_daemon())
    assert all(callable(h) for h in during), during  # the daemon's own, warning
    deadly = [(s, h) for s, h in set_to if s in USER_SIGNALS and h == signal.SIG_DFL]
    assert deadly == []
    assert [signal.getsignal(sig) for sig in USER_SIGNALS] == [signal.SIG_IGN] * 2
