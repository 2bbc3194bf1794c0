"""A stop signal before a command takes the signals over (`stop_early`) that
lands while the event loop runs one of its tasks: a daemon's start serving
/healthz and /readyz while its database is readied.

The handler raised SystemExit in whatever frame it interrupted; inside a task's
step, the task kept that exception too, and asyncio logged it at exit as "Task
exception was never retrieved", a traceback in the log of a clean exit 130 (seen
once in a full run: test_run_start_probes). Run in a subprocess, whose signal
handlers are its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# a task busy in one long step (no await) when SIGTERM comes from a thread: the
# exception it keeps (SystemExit, with the bug), and what the loop's exception
# handler was told
SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal, sys, threading, time
    from monitor.check.interrupt import stop_early

    stop_early()
    seen, tasks = [], []
    inside = threading.Event()

    async def busy():  # a task of its own that nobody awaits, as a server's handler
        inside.set()
        end = time.monotonic() + 1
        while time.monotonic() < end:  # one step: the signal lands in it
            pass

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: seen.append(ctx))
        threading.Thread(
            target=lambda: inside.wait(10) and os.kill(os.getpid(), signal.SIGTERM)
        ).start()
        tasks.append(asyncio.create_task(busy()))
        await asyncio.sleep(30)

    try:
        asyncio.run(main())
    except SystemExit as exc:
        (task,) = tasks  # what asyncio would log, unretrieved, when it is collected
        kept = None if task.cancelled() or not task.done() else task.exception()
        print("exit", exc.code, "kept", type(kept).__name__, "handled", len(seen))
        sys.stdout.flush()
        os._exit(0)
    print("no exit")
    """
)


def test_a_stop_inside_a_task_step_exits_130_without_an_unretrieved_task() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.split() == ["exit", "130", "kept", "NoneType", "handled", "0"], (
        done.stdout,
        done.stderr,
    )
    assert "interrupted (SIGTERM)" in done.stderr
