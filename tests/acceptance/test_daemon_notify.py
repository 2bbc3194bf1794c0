"""systemd's readiness protocol: with `Type=notify` a start completes (and a
queued `systemctl reload` is sent) only at READY=1, which `run` says once its
SIGHUP handler is installed; with `Type=exec` the start completed at exec, and a
reload then could reach the interpreter before any of our code ran."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from daemon_harness import (
    DaemonProcess,
    LinkServer,
    article,
    said_until_ready,
    wait_for,
    write_config,
)

from monitor.daemon.notify import notify


def _sighup_handled(pid: int) -> bool:
    """SIGHUP caught and not blocked, as /proc says."""
    fields = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    bit = 1 << (signal.SIGHUP - 1)
    return bool(int(fields["SigCgt"], 16) & bit) and not int(fields["SigBlk"], 16) & bit


def test_ready_is_said_once_a_reload_is_handled_and_stopping_at_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager, LinkServer() as site:
        manager.bind(str(address))
        manager.settimeout(60)
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        daemon = DaemonProcess(cfg)
        try:
            # while the database is checked, the start timeout is kept (start_extended)
            said = said_until_ready(manager)
            ask = b"EXTEND_TIMEOUT_USEC=30000000\nSTATUS=checking the database"
            migrating = b"EXTEND_TIMEOUT_USEC=30000000\nSTATUS=migrating"
            # the check asks at once, and the migration again (it may wait on another's),
            # each saying which it is in the unit's status line
            assert said[:2] == [ask, migrating] and set(said[:-1]) == {ask, migrating}, said
            assert said.index(migrating) > max(i for i, x in enumerate(said) if x == ask)
            # ... and READY=1 clears that status: left, `systemctl status` showed
            # "checking the database" for as long as the daemon ran
            assert said[-1] == b"READY=1\nSTATUS=", said
            # handled, and not blocked but for a moment: a checker process is spawned
            # with SIGHUP held (prestart.spawn_signals_held), so one read of /proc may see it so
            wait_for(lambda: _sighup_handled(daemon.proc.pid), what=daemon.text)
            daemon.signal(signal.SIGHUP)  # as systemd's queued reload would, at once
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert manager.recv(4096) == b"STOPPING=1"
            assert daemon.wait(30) == 0, daemon.text()
        finally:
            daemon.kill()


def test_notify_sends_nothing_without_a_manager_and_reaches_an_abstract_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"article-monitor-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind("\0" + name)
        manager.settimeout(10)
        monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
        assert not notify("READY=1")
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("READY=1")
        assert manager.recv(64) == b"READY=1"
        monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock")
        assert not notify("READY=1")  # never raises
