"""A stop signal that lands in a finalizer (`__del__`, a weakref callback),
and one that lands in `run`'s exit once the daemon has stopped.

Python cannot raise out of a finalizer: the handler's SystemExit was printed as
"Exception ignored in: ... Traceback" and the command went on as if no signal
had come (seen in a full run: a SIGTERM in `run`'s exit landed in a weakref
callback). And a stop signal after a daemon that stopped by itself (a `--once`
pass done) gave the signals back to the command's handler, which said
"interrupted (SIGTERM) during `run`" of a run that had ended. Each runs in a
subprocess, whose signal handlers are its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

FINALIZER = textwrap.dedent(
    """
    import gc, signal, sys
    from monitor.check.interrupt import stop_early

    stop_early()

    class Finalised:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)
            total = 0
            for i in range(1000):  # the handler runs here, inside the finalizer
                total += i

    gc.disable()
    Finalised()
    print("went on")
    """
)

# the daemon's Signals as `run` uses them, the daemon ending without a stop signal
AFTER_THE_DAEMON = textwrap.dedent(
    """
    import asyncio, signal
    from monitor.check.interrupt import stop_early
    from monitor.daemon import signals

    stop_early()

    async def daemon():
        async def reload(): pass
        handlers = signals.Signals(reload, lambda coro, name: None)
        handlers.install(lambda: None, lambda: None)
        handlers.remove()  # the stop's end: no stop signal came

    with signals.process_ends_with_daemon():
        asyncio.run(daemon())
    signal.raise_signal(signal.SIGTERM)  # in the command's exit
    print("went on")
    """
)


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


def test_a_stop_signal_in_a_finalizer_exits_130_without_a_traceback() -> None:
    done = _run(FINALIZER)
    assert "Traceback" not in done.stderr, done.stderr
    assert "interrupted (SIGTERM)" in done.stderr
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "went on" not in done.stdout


def test_a_stop_signal_after_the_daemon_stopped_by_itself_is_ignored() -> None:
    done = _run(AFTER_THE_DAEMON)
    assert done.stderr == "", done.stderr
    assert (done.returncode, done.stdout) == (0, "went on\n")
