"""The image's HEALTHCHECK and the compose healthcheck, run as written against a
real daemon (only the port is this test's), with a proxy in the environment.

Docker puts the client's configured proxies (`~/.docker/config.json` "proxies")
in every container's environment as HTTP_PROXY/http_proxy, and urllib honours
them: the check's request to 127.0.0.1 went to the proxy, which cannot reach the
container's loopback, and a healthy daemon was marked unhealthy (the stack's
Prometheus, which waits for it, never started). The check asks directly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from daemon_harness import DaemonProcess, LinkServer, write_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROXIED = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def checks() -> dict[str, str]:
    """The Python code each healthcheck runs (`python -c CODE`)."""
    final = (DEPLOY / "Dockerfile").read_text()
    final = final[final.rindex("\nFROM ") :]
    match = re.search(r'^\s*CMD \["python", "-c", "(.*)"\]$', final, re.M)
    assert match, "HEALTHCHECK CMD [python, -c, CODE] not found"
    test = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["monitor"]
    command = test["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"], command
    return {"Dockerfile": match.group(1), "compose.yaml": command[3]}


def run_check(code: str, port: int) -> subprocess.CompletedProcess[str]:
    assert "127.0.0.1:9464/healthz" in code, code
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy"}}
    return subprocess.run(
        [sys.executable, "-c", code.replace(":9464/", f":{port}/")],
        env={**env, **PROXIED},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_healthchecks_ask_the_daemon_directly_whatever_the_proxy(tmp_path: Path) -> None:
    found = checks()
    with LinkServer() as site:
        daemon = DaemonProcess(write_config(tmp_path, site.port))
        try:
            url = daemon.wait_listening()
            port = int(url.rsplit(":", 1)[1])
            for where, code in found.items():
                out = run_check(code, port)
                assert out.returncode == 0, f"{where}: {out.stderr}"
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    # and they fail once nothing answers: the check is not a no-op
    for where, code in found.items():
        assert run_check(code, port).returncode != 0, where
