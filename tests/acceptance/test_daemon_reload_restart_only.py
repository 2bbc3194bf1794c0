"""A SIGHUP that changes a setting read only at the start (the endpoints' address,
credentials and TLS, the database, the log's format and level) says which ones
wait for the restart: "configuration reloaded" alone let an operator believe a
new metrics token was in force while /metrics still answered without it."""

from __future__ import annotations

import json
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


def test_sighup_names_every_checker_setting_it_cannot_apply(tmp_path: Path) -> None:
    """The checker (its HTTP client and host pool, or the settings every checker
    process was given) is built at the start: a reload's new `timeout`, `per_host`
    or `allow_network` was said "configuration reloaded" and never used, while the
    parts that read the settings anew (the lease's bound, the cluster's hosts) took
    them: a warning named only the database, endpoint and log settings."""
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
                timeout=7.0,
                per_host=1,
                allow_network=["127.0.0.0/8", "10.0.0.0/8"],
                concurrency=3,
            )
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    said = [line for line in daemon.text().splitlines() if "apply on restart" in line]
    assert any(
        "WARNING" in line
        and "allow_network, concurrency, per_host, timeout changed; they apply on restart" in line
        for line in said
    ), said


def test_sighup_applies_new_kinds_and_intervals_without_a_restart_warning(
    tmp_path: Path,
) -> None:
    """`kinds` and the intervals are read anew by the scan and each check's decision:
    a reload applies them, and names neither as waiting for the restart."""
    image = "http://news.test/i.png"
    doc = {"webUrl": URL, "title": "t", "images": [{"url": image, "width": 1, "height": 1}]}
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.json").write_text(json.dumps(doc))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: "news.test/a/" in site.urls_hit_after(0), what=daemon.text)
            assert "news.test/i.png" not in site.urls_hit_after(0)  # not a kind checked
            write_config(
                tmp_path,
                site.port,
                rescan_interval=3600.0,
                kinds=["web", "image"],
                interval=0.3,
            )
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            wait_for(lambda: "news.test/i.png" in site.urls_hit_after(0), what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "apply on restart" not in daemon.text()
