"""A SIGHUP that changes a setting read only at the start (the endpoints' address,
credentials and TLS, the database, the log's format and level) says which ones
wait for the restart: "configuration reloaded" alone let an operator believe a
new metrics token was in force while /metrics still answered without it."""

from __future__ import annotations

import signal
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config

URL = "http://news.test/a/"


def test_sighup_names_the_changed_settings_that_apply_on_restart(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o600)
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            write_config(
                tmp_path,
                site.port,
                rescan_interval=3600.0,
                metrics_token_file=str(token),
                log_level="debug",
                data_dir=str(tmp_path / "elsewhere"),
            )
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            assert daemon.get("/metrics")[0] == 200  # as running: no token yet
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    said = [line for line in daemon.text().splitlines() if "apply on restart" in line]
    assert any(
        "WARNING" in line and "data_dir, log_level, metrics_token_file changed" in line
        for line in said
    ), said
    assert not (tmp_path / "elsewhere").exists()
