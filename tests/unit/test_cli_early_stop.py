"""The console script takes Ctrl-C and SIGTERM over (exit 130, a message) before it
imports click: `main()` did it, after `monitor.cli` and click had been imported
(~30 ms), and a Ctrl-C then was a KeyboardInterrupt traceback. A process that
imports the CLI as a library keeps its own handlers."""

from __future__ import annotations

import subprocess
import sys

# records SIGINT's handler at the moment click starts to be imported
PROBE = """
import signal, sys
seen = []
class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "click" and not seen:
            seen.append(getattr(signal.getsignal(signal.SIGINT), "__name__", "?"))
        return None
sys.meta_path.insert(0, Probe())
sys.argv = [sys.argv[1], "check", "--help"]
import monitor.cli
print(seen[0] if seen else "click imported before")
"""


def _handler_at_click_import(argv0: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, argv0], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_console_script_takes_ctrl_c_over_before_click_is_imported() -> None:
    assert _handler_at_click_import("/usr/local/bin/article-monitor") == "_exit_early"


def test_a_library_import_keeps_the_default_handler() -> None:
    assert _handler_at_click_import("/usr/bin/some-tool") == "default_int_handler"
