"""A broken install met by the daemon's corpus reading: PyYAML or publicsuffixlist
missing. Both are imported at the first document (issue 16), so the daemon
started, its first scan logged a traceback ("corpus rescan failed") and it was
never ready, nothing naming the package. Now `run` says `Error: cannot import
NAME (…): the install is broken…` and exits 2 at its start, and a SIGHUP
meeting a package broken since is a reload refused, one line, no traceback.

The missing package is a module of its name on PYTHONPATH that raises
ModuleNotFoundError, as an absent one does, once a marker file exists (at its
import, or at the import of a name from it); until then publicsuffixlist's
stand-in offers the name the code imports (no record
here needs the list: each provider domain is its article's host).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, query, refused, wait_for, write_config

SHIM = """\
import os

def __getattr__(name):
    if os.path.exists({marker!r}):
        raise ModuleNotFoundError("No module named '{module}'", name="{module}")
    return object

__getattr__("imported")
"""
CORPUS = '---\nwebUrl: "http://news.test/a/"\ntitle: "t"\nprovider:\n  domain: news.test\n---\n'


def shimmed(tmp_path: Path, module: str) -> tuple[dict[str, str], Path]:
    """An environment in which `module` fails to import once the returned marker exists."""
    shim, marker = tmp_path / "shim", tmp_path / f"{module}-broken"
    shim.mkdir(exist_ok=True)
    (shim / f"{module}.py").write_text(SHIM.format(marker=str(marker), module=module))
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    return {**env, "PYTHONPATH": path}, marker


@pytest.mark.parametrize("module", ["publicsuffixlist", "yaml"])
def test_run_without_a_corpus_package_is_refused_at_its_start(tmp_path: Path, module: str) -> None:
    """Exit 2 and one `Error:` line naming the package (it ran on, a traceback
    logged and /readyz failing for as long as it ran)."""
    env, marker = shimmed(tmp_path, module)
    marker.touch()
    config = write_config(tmp_path, 1)
    (tmp_path / "corpus" / "a.txt").write_text(CORPUS)
    done = subprocess.run(
        [CLI, "run", "--config", str(config)], capture_output=True, text=True, timeout=30, env=env
    )
    refused(
        done,
        f"Error: cannot import {module} (No module named '{module}'): the install is broken",
    )
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_a_sighup_after_publicsuffixlist_broke_is_a_refused_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon started whole; the package broken since (an upgrade in place gone
    wrong): the SIGHUP is refused, saying which package, in one line, and the daemon
    stops cleanly. It was taken ("configuration reloaded"). A daemon's start and
    stop: ~2 s."""
    env, marker = shimmed(tmp_path, "publicsuffixlist")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "data" / "article-monitor.db"
    with LinkServer() as site:
        config = write_config(tmp_path, site.port, interval=3600.0, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(CORPUS)
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, "select count(*) from articles") == [(1,)], what=daemon.text)
            marker.touch()
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "reload" in daemon.text(), what=daemon.text)
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    text = daemon.text()
    said = [line for line in text.splitlines() if "reload" in line]
    assert len(said) == 1, text
    assert (
        "reload refused, keeping the running configuration: cannot import publicsuffixlist "
        "(No module named 'publicsuffixlist'): the install is broken" in said[0]
    ), text
    assert "Traceback" not in text, text
