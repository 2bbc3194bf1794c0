"""A stop signal between `check`'s arming and its run's first step.

`StopSignals.attach` cancelled the run's task at once when a signal had come
since `arm` (a terminal's progress bar imports rich there, the loop is made).
A run that never waits (--offline) finished in that first step, with the
cancel still asked for: asyncio ended the task cancelled, and `check` printed a
CancelledError traceback and exited 1 after writing its report. The same came
of a stop swallowed by a finalizer before the run and dropped on its way. Each
runs the CLI's `main` in a subprocess (its handlers are its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"

# the signal lands right after `arm`, before the run's task begins
SCRIPT = textwrap.dedent(
    """
    import signal, sys
    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    from monitor.check import interrupt

    armed = interrupt.StopSignals.arm

    def arm(self):
        armed(self)
        signal.raise_signal(signal.SIGTERM)

    interrupt.StopSignals.arm = arm
    monitor.cli.main()
    """
)


def test_a_stop_before_an_offline_run_begins_exits_130_with_its_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "check", str(EXAMPLES), "--offline", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGTERM)" in done.stderr, done.stderr
    assert json.loads(out.read_text())["articles"], "the report of what was checked"
