"""A second stop signal while `check` answers the first one, before its run
(Ctrl-C pressed twice, a SIGINT then a service manager's SIGTERM): the handler
raised `Interrupted` again inside the answer (discarding the prestarted
checker processes), and it left `check` as a traceback, exit 1, where the first
alone said "interrupted ... no report" and exited 130. The signals are raised
at chosen points: the first while the settings are read, the second as the
answer begins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"

SCRIPT = textwrap.dedent(
    """
    import signal, sys
    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    import monitor.cli.check as command
    from monitor.check import prestart

    def stop_then(real, sig):
        def call(*args, **kwargs):
            signal.raise_signal(sig)
            return real(*args, **kwargs)
        return call

    command.settings_from = stop_then(command.settings_from, signal.SIGINT)
    prestart.discard = stop_then(prestart.discard, signal.SIGTERM)
    monitor.cli.main()
    """
)


def test_a_second_stop_while_the_first_is_answered_still_exits_130(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "check", str(EXAMPLES), "--offline"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGINT) before the run began" in done.stderr, done.stderr
    assert done.stdout == ""
