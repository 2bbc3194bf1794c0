"""A stop signal while asyncio is being imported (keygen imports it through the
logs module): the handler asked `asyncio.events` for the running loop, found
the module in sys.modules but not yet its `_get_running_loop`, and the
AttributeError was an "internal error ... This is a bug" with a traceback, exit
70 (1 of 40 SIGTERMs at random delays). The signal is raised here from an
import hook at the moment asyncio.events imports asyncio.format_helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import signal, sys

    class StopMidImport:  # a finder that only raises the signal, once
        def find_spec(self, name, path=None, target=None):
            if name == "asyncio.format_helpers" and "asyncio.events" in sys.modules:
                sys.meta_path.remove(self)
                signal.raise_signal(signal.SIGTERM)  # the handler runs here
            return None

    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    assert "asyncio" not in sys.modules
    sys.meta_path.insert(0, StopMidImport())
    monitor.cli.main()
    """
)


def test_a_stop_while_asyncio_is_imported_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "keygen", "--type", "ed25519", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGTERM)" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
