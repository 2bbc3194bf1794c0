"""A stop signal before `check`'s run began that lands in a finalizer (a `__del__`,
a weakref callback run by the garbage collector).

Before the run, `check`'s handler raises `Interrupted` wherever the signal
landed; Python cannot raise out of a finalizer, so it was printed as "Exception
ignored in: ... Traceback" and the command went on: its workers spawned, its
run cancelled at once, and an empty report marked incomplete written over
`-o FILE`, where a stop before the run writes nothing. Run through the CLI's
`main` in a subprocess (its signal handlers are its own); the finalizer runs
inside the settings' read, where `check` has taken the signals over.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import gc, signal, sys

    sys.argv = ["article-monitor", "check", *sys.argv[1:]]
    import monitor.cli
    import monitor.cli.check as check

    read = check.settings_from

    class Finalised:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)
            total = 0
            for i in range(1000):  # the handler runs here, inside the finalizer
                total += i

    def settings_from(*args, **kwargs):
        Finalised()  # finalized at once: the signal lands in its __del__
        return read(*args, **kwargs)

    gc.disable()
    check.settings_from = settings_from
    monitor.cli.main()
    """
)


def test_a_stop_signal_in_a_finalizer_before_the_run_writes_no_report(tmp_path: Path) -> None:
    corpus = tmp_path / "a.json"
    corpus.write_text('{"webUrl": "http://example.test/a", "title": "t"}\n')
    report = tmp_path / "report.json"
    report.write_text("the last report\n")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(corpus), "--offline", "-o", str(report)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "interrupted (SIGTERM) before the run began" in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert report.read_text() == "the last report\n"
