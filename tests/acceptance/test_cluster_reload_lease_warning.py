"""A reload judges the cluster's settings as the start does (hostile review R19):
`lease_seconds` reloaded (it applies at once) below what a check can take with
the running `timeout` (which applies on restart) said nothing, and such checks
were claimed and checked again by another member, this one found stuck. The
start's warning is said at the reload too."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config
from support.pg import pg_schema_url

pytestmark = pytest.mark.postgres

# a start on PostgreSQL claims after its second heartbeat (joining.py): 0.3 s
# apart, not the default 2 s, in both configs (a reload that changed them would
# say so too)
BEATS = {"cluster_heartbeat": 0.3}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the test server, as a URL the daemons can take."""
    yield from pg_schema_url("r")


def test_a_reloaded_lease_too_short_for_the_running_timeout_is_warned(
    tmp_path: Path, pg_url: str
) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, db=pg_url, timeout=5.0, lease_seconds=60.0, **BEATS)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            assert "not longer than a check can take" not in daemon.text()
            # the new timeout applies on restart: the running 5 s outlasts the new lease
            write_config(tmp_path, site.port, db=pg_url, timeout=0.5, lease_seconds=2.0, **BEATS)
            daemon.signal(signal.SIGHUP)
            # the warning comes after "configuration reloaded" (the reload done, then
            # judged): waiting for that line read the log before the warning's
            warned = "cluster: lease_seconds (2) is not longer than a check can take (5 s"
            wait_for(lambda: warned in daemon.text(), what=daemon.text)
            text_ = daemon.text()
            assert "configuration reloaded" in text_, text_
            assert "timeout changed; they apply on restart" in text_, text_
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(60) == 0
        finally:
            daemon.kill()
