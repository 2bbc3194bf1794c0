"""SIGUSR1, SIGUSR2 or SIGHUP sent to `run` as its process exits, after "stopped".

Since they are counted from `run`'s first line (a Python handler, not SIG_IGN),
the interpreter's shutdown put their default action back, as it does for every
handler of its own, and a `systemctl kill -s USR1` during the exit ended a
daemon that had stopped cleanly with status 138 (seen in a flood of them during
the stop, 2 of 3 runs); a SIGHUP there, let through at its default once the
daemon's handler was removed, ended it with 129 (1 of 5). Once `run`'s daemon
has ended they are ignored by the kernel (SIG_IGN), which the interpreter
leaves in place. The check is the
disposition the interpreter's shutdown meets: an atexit function registered
before the command runs last, just before it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import atexit, signal, sys

    def disposition():  # the last atexit function: what the shutdown meets
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
            handler = signal.getsignal(sig)
            safe = handler == signal.SIG_IGN
            print(f"{sig.name} {'ignored' if safe else 'reset to its default at exit'}")

    atexit.register(disposition)
    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    monitor.cli.main()
    """
)


def test_user_signals_in_runs_exit_never_end_the_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    args = ["run", str(corpus), "--once", "--data-dir", str(tmp_path / "data")]
    args += ["--listen", "127.0.0.1:0", "--allow-network", "127.0.0.0/8"]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    ignored = ["SIGUSR1 ignored", "SIGUSR2 ignored", "SIGHUP ignored"]
    assert done.stdout.splitlines()[-3:] == ignored, done.stdout
