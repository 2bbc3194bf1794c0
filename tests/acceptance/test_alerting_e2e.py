"""Alerting end to end on loopback: the daemon checks a local site, a real Prometheus
scrapes it and evaluates the generated rules, a real Alertmanager notifies a
webhook. The page turns 404: `ArticleTargetsDown` arrives with its labels and
annotations; it comes back: the resolved notification arrives; the daemon
stops: `ArticleMonitorAbsent` arrives. Every dashboard panel's query returns
series from that Prometheus, and every Grafana rule's query parses there.

Time is compressed: scrape and evaluation every second, every `for` zero.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from daemon_harness import (
    DaemonProcess,
    LinkServer,
    article,
    wait_for,
    write_config,
)

from monitor.grafana.dashboards import all_dashboards, panel_queries
from monitor.grafana.export import ExportSettings, write
from monitor.grafana.prometheus import Links
from monitor.grafana.rules import Thresholds

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = [
    pytest.mark.promtool,
    pytest.mark.skipif(
        PROMETHEUS is None or ALERTMANAGER is None,
        reason="prometheus / prometheus-alertmanager not installed (scripts/test-deps.sh)",
    ),
    pytest.mark.timeout(180),
]
STATUS = "http://status.test:9464"


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free now: all bound at once, then closed (one
    bound and closed after another could be given the same port twice)."""
    held = [socket.socket() for _ in range(count)]
    try:
        for s in held:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


class Webhook:
    """Alertmanager's webhook receiver: every notification, in arrival order."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.notes.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def alerts(self, name: str, status: str, after: int = 0) -> list[dict[str, Any]]:
        return [
            a
            for note in self.notes[after:]
            for a in note["alerts"]
            if a["labels"]["alertname"] == name and a["status"] == status
        ]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


class Service:
    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._fh.close()


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # a bad query answers 400 with a JSON error
        body = exc.read()
    except OSError:  # not listening yet
        return None
    try:
        return json.loads(body)
    except ValueError:  # "Service Unavailable" while Prometheus starts
        return None


def static(target: str) -> dict[str, Any]:
    return {"static_configs": [{"targets": [target]}]}


def instant(prom: str, expr: str) -> Any:
    return api(prom, "/api/v1/query", query=expr)


def test_a_link_going_down_reaches_a_person_and_back(tmp_path: Path, webhook: Webhook) -> None:
    assert PROMETHEUS and ALERTMANAGER
    services: list[Service] = []
    with LinkServer() as site:
        config = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/story"))
        daemon = DaemonProcess(config)
        try:
            daemon_url = daemon.wait_listening()
            target = daemon_url.removeprefix("http://")

            out = tmp_path / "grafana"
            write(
                out,
                ExportSettings(
                    thresholds=Thresholds(down_share=0.5, down_min=1, for_factor=0),
                    links=Links(status_base=STATUS),
                    evaluation_s=1,
                ),
            )
            am_port, prom_port = free_ports(2)
            (tmp_path / "am.yml").write_text(
                yaml.safe_dump(
                    {
                        "route": {
                            "receiver": "hook",
                            "group_by": ["..."],
                            "group_wait": "1s",
                            "group_interval": "1s",
                            "repeat_interval": "1h",
                        },
                        "receivers": [
                            {
                                "name": "hook",
                                "webhook_configs": [{"url": webhook.url, "send_resolved": True}],
                            }
                        ],
                    }
                )
            )
            services.append(
                Service(
                    [
                        ALERTMANAGER,
                        f"--config.file={tmp_path / 'am.yml'}",
                        f"--storage.path={tmp_path / 'am-data'}",
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address=",
                    ],
                    tmp_path / "alertmanager.log",
                )
            )
            (tmp_path / "prom.yml").write_text(
                yaml.safe_dump(
                    {
                        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                        "rule_files": [str(out / "prometheus" / "article-monitor.rules.yml")],
                        "alerting": {
                            "alertmanagers": [
                                {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}
                            ]
                        },
                        "scrape_configs": [
                            {
                                "job_name": "article-monitor",
                                "static_configs": [{"targets": [target]}],
                            }
                        ],
                    }
                )
            )
            services.append(
                Service(
                    [
                        PROMETHEUS,
                        f"--config.file={tmp_path / 'prom.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                        "--rules.alert.resend-delay=1s",
                    ],
                    tmp_path / "prometheus.log",
                )
            )
            prom = f"http://127.0.0.1:{prom_port}"

            def logs() -> str:
                return "\n".join(s.log.read_text(errors="replace")[-3000:] for s in services)

            def up_value() -> bool:
                res = instant(prom, 'article_monitor_targets{kind="web",state="up"}')
                return bool(
                    res and res["data"]["result"] and res["data"]["result"][0]["value"][1] == "1"
                )

            wait_for(up_value, 60, what=lambda: "the target up in Prometheus\n" + logs())

            # the page turns 404: the alert reaches the webhook with labels and annotations
            mark = len(webhook.notes)
            site.status = 404
            firing = wait_for(
                lambda: webhook.alerts("ArticleTargetsDown", "firing", mark),
                60,
                what=lambda: f"ArticleTargetsDown firing: {webhook.notes}\n{logs()}",
            )[0]
            assert firing["labels"]["kind"] == "web"
            assert firing["labels"]["severity"] == "warning"
            assert firing["labels"]["job"] == "article-monitor"
            assert firing["annotations"]["summary"] == "100% of web targets are down"
            assert firing["annotations"]["status_url"] == f"{STATUS}/targets?state=down&kind=web"
            assert firing["annotations"]["runbook_url"].endswith("#articletargetsdown")

            # every panel query returns series now that there is history; every rule parses
            for board in all_dashboards().values():
                for title, expr in panel_queries(board):
                    q = expr.replace("$instance", ".*").replace("$kind", ".*")
                    q = q.replace("$provider", ".*")
                    res = wait_for(
                        lambda q=q: (r := instant(prom, q)) and r["data"]["result"] and r,
                        20,
                        what=lambda q=q, title=title: f"{title}: {q} -> {instant(prom, q)}",
                    )
                    assert res["status"] == "success"
            rules = yaml.safe_load(
                (out / "provisioning" / "alerting" / "article-monitor-rules.yaml").read_text()
            )
            for rule in rules["groups"][0]["rules"]:
                res = instant(prom, rule["data"][0]["model"]["expr"])
                assert res and res["status"] == "success", (rule["title"], res)

            # it comes back: the resolved notification arrives
            site.status = 200
            resolved = wait_for(
                lambda: webhook.alerts("ArticleTargetsDown", "resolved", mark),
                60,
                what=lambda: f"ArticleTargetsDown resolved: {webhook.notes}\n{logs()}",
            )[0]
            assert resolved["labels"]["kind"] == "web"

            # the daemon stops: the absent alert arrives
            mark = len(webhook.notes)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(20) == 0
            absent = wait_for(
                lambda: webhook.alerts("ArticleMonitorAbsent", "firing", mark),
                60,
                what=lambda: f"ArticleMonitorAbsent: {webhook.notes}\n{logs()}",
            )[0]
            assert absent["labels"]["severity"] == "critical"
            assert absent["annotations"]["runbook_url"].endswith("#articlemonitorabsent")
        finally:
            daemon.kill()
            for service in reversed(services):
                service.stop()
