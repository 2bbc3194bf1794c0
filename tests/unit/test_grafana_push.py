"""`grafana push` against a Grafana HTTP API mocked with respx (Grafana cannot run here).

The mock keeps state like Grafana does (folders, dashboards, alert rules, with
ids and versions of its own), so idempotence is tested on what a second push
would really see.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from click.testing import CliRunner

from monitor.cli import cli
from monitor.grafana.export import ExportSettings
from monitor.grafana.push import PushError, client, push, subset
from monitor.grafana.rules import Thresholds, alert_rules

URL = "https://grafana.test"
TOKEN = "glsa_secret_token_value_123"


class FakeGrafana:
    """The parts of Grafana's API `push` uses, with Grafana's own additions."""

    def __init__(self, router: respx.MockRouter, version: str = "11.3.0") -> None:
        self.version = version
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        r = router
        r.get(f"{URL}/api/health").mock(side_effect=self.health)
        r.get(url__regex=rf"{URL}/api/folders/(?P<uid>[^/]+)$").mock(side_effect=self.get_folder)
        r.post(f"{URL}/api/folders").mock(side_effect=self.post_folder)
        r.get(url__regex=rf"{URL}/api/dashboards/uid/(?P<uid>[^/]+)$").mock(
            side_effect=self.get_dashboard
        )
        r.post(f"{URL}/api/dashboards/db").mock(side_effect=self.post_dashboard)
        rules = rf"{URL}/api/v1/provisioning/alert-rules"
        r.get(url__regex=rf"{rules}/(?P<uid>[^/]+)$").mock(side_effect=self.get_rule)
        r.put(url__regex=rf"{rules}/(?P<uid>[^/]+)$").mock(side_effect=self.put_rule)
        r.post(rules).mock(side_effect=self.post_rule)

    def health(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"database": "ok", "version": self.version})

    def get_folder(self, request: httpx.Request, uid: str) -> httpx.Response:
        if uid in self.folders:
            return httpx.Response(200, json=self.folders[uid])
        return httpx.Response(404, json={"message": "folder not found"})

    def post_folder(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.writes.append(("POST folder", body["uid"]))
        self.folders[body["uid"]] = {**body, "id": len(self.folders) + 1, "version": 1}
        return httpx.Response(200, json=self.folders[body["uid"]])

    def get_dashboard(self, request: httpx.Request, uid: str) -> httpx.Response:
        if uid in self.dashboards:
            return httpx.Response(200, json=self.dashboards[uid])
        return httpx.Response(404, json={"message": "Dashboard not found"})

    def post_dashboard(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        board = body["dashboard"]
        self.writes.append(("POST dashboard", board["uid"]))
        old = self.dashboards.get(board["uid"], {}).get("dashboard", {})
        stored = {**board, "id": 7, "version": old.get("version", 0) + 1}
        self.dashboards[board["uid"]] = {
            "dashboard": stored,
            "meta": {"folderUid": body["folderUid"], "created": "2026-12-04T00:00:00Z"},
        }
        return httpx.Response(200, json={"status": "success", "uid": board["uid"]})

    def get_rule(self, request: httpx.Request, uid: str) -> httpx.Response:
        if uid in self.rules:
            return httpx.Response(200, json=self.rules[uid])
        return httpx.Response(404, json={"message": "rule not found"})

    def _store_rule(self, body: dict[str, Any]) -> httpx.Response:
        for query in body["data"]:  # Grafana fills in defaults of its own
            query["model"].setdefault("intervalMs", 1000)
            query["model"].setdefault("maxDataPoints", 43200)
        self.rules[body["uid"]] = {**body, "id": 3, "provenance": "api", "updated": "now"}
        return httpx.Response(201, json=self.rules[body["uid"]])

    def post_rule(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.writes.append(("POST rule", body["uid"]))
        return self._store_rule(body)

    def put_rule(self, request: httpx.Request, uid: str) -> httpx.Response:
        body = json.loads(request.content)
        self.writes.append(("PUT rule", uid))
        return self._store_rule(body)


@pytest.fixture
def grafana() -> Any:
    with respx.mock(assert_all_called=False) as router:
        yield FakeGrafana(router), router


def test_a_first_push_creates_everything_with_the_token_in_the_header_only(grafana: Any) -> None:
    fake, router = grafana
    with client(URL, TOKEN) as http:
        report = push(http, "am-folder")
    n_rules = len(alert_rules())
    assert ("POST folder", "am-folder") in fake.writes
    assert [w for w in fake.writes if w[0] == "POST dashboard"] == [
        ("POST dashboard", "article-monitor"),
        ("POST dashboard", "article-monitor-drilldown"),
    ]
    assert len([w for w in fake.writes if w[0] == "POST rule"]) == n_rules
    assert len(report.created) == 1 + 2 + n_rules and not report.updated
    for call in router.calls:
        req = call.request
        assert req.headers["Authorization"] == f"Bearer {TOKEN}"
        assert req.headers["User-Agent"].startswith("article-monitor/")
        assert TOKEN.encode() not in req.content and TOKEN not in str(req.url)
    dash_post = next(c.request for c in router.calls if c.request.url.path == "/api/dashboards/db")
    body = json.loads(dash_post.content)
    assert body["folderUid"] == "am-folder" and body["overwrite"] is True
    assert body["dashboard"]["id"] is None and body["dashboard"]["panels"]
    rule = next(iter(fake.rules.values()))
    assert rule["folderUID"] == "am-folder" and rule["ruleGroup"] == "article-monitor"
    assert rule["condition"] == "C"


def test_a_second_identical_push_writes_nothing(grafana: Any) -> None:
    fake, router = grafana
    with client(URL, TOKEN) as http:
        push(http, "am-folder")
        writes = len(fake.writes)
        versions = {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()}
        report = push(http, "am-folder")
    assert len(fake.writes) == writes
    assert {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()} == versions
    assert not report.created and not report.updated
    assert len(report.unchanged) == 1 + 2 + len(alert_rules())
    second = router.calls[-len(report.unchanged) - 1 :]
    assert all(c.request.method == "GET" for c in second)


def test_a_changed_threshold_updates_only_that_rule(grafana: Any) -> None:
    fake, _ = grafana
    with client(URL, TOKEN) as http:
        push(http, "am-folder")
        fake.writes.clear()
        push(http, "am-folder", ExportSettings(thresholds=Thresholds(down_share=0.25)))
    assert fake.writes == [("PUT rule", "am-targetsdown")]


def test_a_dashboard_in_another_folder_is_moved(grafana: Any) -> None:
    fake, _ = grafana
    with client(URL, TOKEN) as http:
        push(http, "am-folder")
        fake.writes.clear()
        report = push(http, "other")
    assert ("POST dashboard", "article-monitor") in fake.writes
    assert "dashboard article-monitor" in report.updated


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "refused the token"),
        (403, "lacks permission"),
        (404, "root of the Grafana"),
        (409, "conflict"),
        (500, "try again later"),
        (502, "try again later"),
    ],
)
def test_refusals_say_what_to_do_and_never_quote_the_token(status: int, hint: str) -> None:
    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(
            return_value=httpx.Response(status, json={"message": f"bad token {TOKEN}\n"})
        )
        with client(URL, TOKEN) as http, pytest.raises(PushError) as err:
            push(http)
    text = str(err.value)
    assert f"HTTP {status}: bad token *** (" in text and hint in text and TOKEN not in text


def test_a_conflict_on_a_dashboard_write_is_reported_with_the_object(grafana: Any) -> None:
    _, router = grafana
    router.post(f"{URL}/api/dashboards/db").mock(
        return_value=httpx.Response(409, json={"message": "name-exists"})
    )
    with client(URL, TOKEN) as http, pytest.raises(PushError) as err:
        push(http)
    assert "writing dashboard article-monitor: HTTP 409: name-exists" in str(err.value)


@pytest.mark.parametrize("version", ["10.4.2", "9.5.0", "8.0.0-beta1"])
def test_a_grafana_too_old_for_the_schema_is_refused_before_any_write(version: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeGrafana(router, version=version)
        with client(URL, TOKEN) as http, pytest.raises(PushError, match="too old"):
            push(http)
    assert fake.writes == []


def test_not_a_grafana_and_no_grafana_at_all() -> None:
    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(return_value=httpx.Response(200, text="<html>"))
        with client(URL, TOKEN) as http, pytest.raises(PushError, match="not JSON"):
            push(http)
    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(side_effect=httpx.ConnectError("refused"))
        with client(URL, TOKEN) as http, pytest.raises(PushError, match="cannot reach"):
            push(http)
    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(side_effect=httpx.ReadTimeout("slow"))
        with client(URL, TOKEN) as http, pytest.raises(PushError, match="in time"):
            push(http)


def test_subset_compares_what_we_send_not_what_grafana_adds() -> None:
    assert subset({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "c": 3}], "id": 9})
    assert not subset({"a": [1, 2]}, {"a": [1, 2, 3]})
    assert not subset({"a": 1}, {"b": 1})
    assert not subset({"a": {"b": 1}}, {"a": [1]})


def token_file(tmp_path: Path, text: str = TOKEN, mode: int = 0o600) -> Path:
    path = tmp_path / "token"
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def test_the_cli_pushes_and_lists_what_it_did(grafana: Any, tmp_path: Path) -> None:
    args = ["grafana", "push", "--url", URL + "/", "--token-file", str(token_file(tmp_path))]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "created   dashboard article-monitor" in first.output
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0 and "created" not in second.output
    assert TOKEN not in first.output + second.output


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        (TOKEN, 0o644, "chmod 600"),
        ("", 0o600, "one token"),
        ("two words", 0o600, "one token"),
    ],
)
def test_the_cli_refuses_a_bad_token_file(
    tmp_path: Path, text: str, mode: int, message: str
) -> None:
    path = token_file(tmp_path, text, mode)
    result = CliRunner().invoke(cli, ["grafana", "push", "--url", URL, "--token-file", str(path)])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert stat.S_IMODE(path.stat().st_mode) == mode  # untouched


def test_the_cli_reports_a_refusal_as_error_exit_2(tmp_path: Path) -> None:
    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(return_value=httpx.Response(401, json={}))
        result = CliRunner().invoke(
            cli, ["grafana", "push", "--url", URL, "--token-file", str(token_file(tmp_path))]
        )
    assert result.exit_code == 2
    assert result.output.startswith("Error: reading the Grafana version: HTTP 401")
    assert TOKEN not in result.output


def test_the_cli_export_writes_every_artefact(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["grafana", "export", "--out", str(tmp_path / "g")])
    assert result.exit_code == 0, result.output
    written = sorted(
        p.relative_to(tmp_path / "g").as_posix() for p in (tmp_path / "g").rglob("*.*")
    )
    assert "prometheus/article-monitor.rules.yml" in written
    assert "kubernetes/prometheusrule.yaml" in written
    assert "provisioning/alerting/article-monitor-rules.yaml" in written
    assert len(written) == len(result.output.splitlines())
