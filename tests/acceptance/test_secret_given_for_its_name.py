"""A secret given where the name of the file or variable holding it goes: the
token for `--header-file`'s path or `--header-env`'s variable, `user:password`
as `metrics_basic_auth_file`, a key in `key_file`, a Grafana token as
`--token-file`. Each was printed back: "value_file Bearer … not found",
"metrics_basic_auth_file user:…: No such file or directory", and `config
show`'s JSON (which "prints the effective settings with secrets redacted").
The name is never echoed; the error still says which setting and why."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus

KEY = "5f" * 32  # an AES-256 key in hex
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2VjcmV0LXNpZ25hdHVyZQ"
PASSWORD = "pw-Kq81-zzTop"


def cli(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )


def unseen(out: subprocess.CompletedProcess[str], *secrets: str) -> str:
    said = out.stdout + out.stderr
    assert "Traceback" not in said, said
    for secret in secrets:
        assert secret not in said, said
    return said


@pytest.mark.parametrize(
    ("option", "spec"),
    [
        ("--header-file", f"a.example=Authorization:Bearer {TOKEN}"),
        ("--header-env", f"a.example=Authorization:{TOKEN}"),
    ],
)
def test_a_header_value_given_for_its_file_or_variable(
    tmp_path: Path, option: str, spec: str
) -> None:
    corpus = one_article_corpus(tmp_path)
    out = cli(tmp_path, "check", corpus, "--offline", option, spec)
    assert out.returncode == 2, out.stderr
    said = unseen(out, TOKEN)
    assert "request_headers" in said and "not shown" in said


def test_config_show_prints_no_secret_given_for_a_name(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text(
        f'metrics_basic_auth_file = "ops:{PASSWORD}"\nmetrics_token_file = "{KEY}"\n'
    )
    out = cli(tmp_path, "config", "show", "--config", "monitor.toml", "--key-file", KEY)
    assert out.returncode == 0, out.stderr
    unseen(out, PASSWORD, KEY)
    assert '"metrics_basic_auth_file": "(not shown' in out.stdout


def test_run_names_the_basic_auth_setting_without_the_password(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    (tmp_path / "monitor.toml").write_text(f'metrics_basic_auth_file = "ops:{PASSWORD}"\n')
    out = cli(
        tmp_path, "run", corpus, "--config", "monitor.toml", "--data-dir", "data",
        "--listen", "127.0.0.1:0",
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    said = unseen(out, PASSWORD)
    assert "metrics_basic_auth_file (not shown" in said


def test_grafana_token_given_for_its_file(tmp_path: Path) -> None:
    token = "glsa_Rk3mQ9vXb2LpT7wZ1cYh5nJd8sFa4GeU_1a2b3c4d"
    out = cli(tmp_path, "grafana", "push", "--url", "http://127.0.0.1:9", "--token-file", token)
    assert out.returncode == 2, out.stderr
    unseen(out, token)
