"""`grafana push` against a hostile or broken Grafana (respx mocks only Grafana's
HTTP API): whatever it answers, the user sees `Error: …` and exit 2, never a
traceback, never the token, never the server's terminal escapes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner

from monitor.cli import cli

URL = "http://grafana.test"
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
