"""`grafana push` against a hostile or broken Grafana (respx mocks only Grafana's
HTTP API): whatever it answers, the user sees `Error: …` and exit 2, never a
traceback, never the token, never the server's terminal escapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import respx
from click.testing import CliRunner

import monitor.grafana.push as push_module
from monitor.cli import cli

URL = "https://grafana.test"
TOKEN = "glsa_secret_token_value_123"


def token_file(tmp_path: Path, text: str = TOKEN) -> Path:
    path = tmp_path / "token"
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def run(tmp_path: Path, router: respx.MockRouter, *extra: str, token: str = TOKEN) -> str:
    result = CliRunner().invoke(
        cli,
        ["grafana", "push", "--url", URL, "--token-file", str(token_file(tmp_path, token)), *extra],
    )
    out = result.output
    assert result.exit_code == 2, out
    assert out.startswith("Error: ") and "Traceback" not in out, out
    assert TOKEN not in out and "\x1b" not in out and "\x07" not in out, out
    return out


def health(router: respx.MockRouter, version: object = "11.3.0") -> None:
    router.get(f"{URL}/api/health").mock(
        return_value=httpx.Response(200, json={"database": "ok", "version": version})
    )


@pytest.mark.parametrize(
    "version",
    [f"Bearer {TOKEN}", f"1.0 \x1b]0;owned\x07 {TOKEN}", f"10.0.0 {TOKEN}"],
)
def test_a_version_that_echoes_the_token_or_escapes_is_shown_cleaned(
    tmp_path: Path, version: str
) -> None:
    with respx.mock() as router:
        health(router, version)
        out = run(tmp_path, router)
    assert "version" in out or "too old" in out


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json=[]),
        httpx.Response(200, json="dashboard"),
        httpx.Response(200, json={"meta": "x", "dashboard": {}}),
        httpx.Response(200, json={"meta": None}),
    ],
)
def test_a_dashboard_answer_that_is_not_grafanas_shape_is_an_error(
    tmp_path: Path, answer: httpx.Response
) -> None:
    with respx.mock(assert_all_called=False) as router:
        health(router)
        router.get(f"{URL}/api/folders/article-monitor").mock(
            return_value=httpx.Response(200, json={"uid": "article-monitor"})
        )
        router.get(url__regex=rf"{URL}/api/dashboards/uid/.*").mock(return_value=answer)
        router.route().mock(return_value=httpx.Response(500, json={"message": "stop"}))
        out = run(tmp_path, router)
    assert "dashboard article-monitor" in out


def test_a_token_with_a_non_ascii_character_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        out = run(tmp_path, router, token="glsa_tök€n")
        assert not router.calls
    assert "ASCII" in out


@pytest.mark.parametrize(
    "location",
    ["https://grafana.test/api/folders/x", "http://user:pw@evil.test/login?next=/", "/login"],
)
def test_a_redirect_is_an_error_never_followed_nor_taken_for_success(
    tmp_path: Path, location: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        health(router)
        router.route().mock(return_value=httpx.Response(302, headers={"Location": location}))
        out = run(tmp_path, router)
        hosts = {c.request.url.host for c in router.calls}
        writes = [c for c in router.calls if c.request.method != "GET"]
    assert "HTTP 302: Grafana redirects to" in out and "pw" not in out
    assert hosts == {"grafana.test"} and not writes


def test_a_write_answered_200_with_an_error_body_is_not_reported_done(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as router:
        health(router)
        router.get(url__regex=rf"{URL}/api/.*").mock(
            return_value=httpx.Response(404, json={"message": "not found"})
        )
        router.route().mock(
            return_value=httpx.Response(200, json={"status": "error", "message": "read-only"})
        )
        out = run(tmp_path, router)
    assert "creating folder article-monitor: HTTP 200 but Grafana says 'error': read-only" in out


@pytest.mark.parametrize("folder", ["../../admin/settings", "a b?x=1#", "", "x" * 41, "ü"])
def test_a_folder_that_is_not_a_grafana_uid_is_refused_before_any_request(
    tmp_path: Path, folder: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        out = run(tmp_path, router, "--folder", folder)
        assert not router.calls
    assert "is not a Grafana uid" in out


def test_an_answer_without_end_is_cut_at_the_bound_not_read_into_memory(
    tmp_path: Path,
) -> None:
    sent = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 10 GB if nothing stopped it
            sent.append(1)
            yield b'{"version": "' + b"1" * (1 << 20)

    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(return_value=httpx.Response(200, content=endless()))
        out = run(tmp_path, router)
    assert "larger than 16 MiB" in out
    assert len(sent) <= 17


def test_an_answer_that_trickles_past_the_deadline_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr(push_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            clock[0] += 29.0  # each piece just inside httpx's read timeout
            yield b" "

    with respx.mock() as router:
        router.get(f"{URL}/api/health").mock(return_value=httpx.Response(200, content=trickle()))
        out = run(tmp_path, router)
    assert "did not answer in time" in out and clock[0] <= 29.0 * 6


@pytest.mark.parametrize("status", [200, 404, 500])
def test_an_answer_nested_deeper_than_the_parser_goes_is_an_error_not_a_crash(
    tmp_path: Path, status: int
) -> None:
    deep = b'{"message": "x", "version": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with respx.mock(assert_all_called=False) as router:
        health(router)
        router.route().mock(return_value=httpx.Response(status, content=deep))
        router.get(f"{URL}/api/health").mock(return_value=httpx.Response(status, content=deep))
        out = run(tmp_path, router)
    assert out.startswith("Error: reading the Grafana version"), out[-500:]
    assert "RecursionError" not in out and "Traceback" not in out
