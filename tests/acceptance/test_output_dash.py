"""`-` as an output is stdout, by every tool's habit, or refused where stdout
cannot hold the output: `check -o -` wrote the report to a file named `-`,
`keygen --out -` the key to one, and `grafana export --out -` made a folder `-`
of eleven files. A folder named `-` is still `./-`.

Runs the installed CLI (a subprocess per case); nothing touches the network.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus, refused


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_check_o_dash_is_stdout(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    out = cli("check", "--offline", "--format", "json", "-o", "-", corpus, cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert json.loads(out.stdout)["summary"]["articles"] == 1
    assert not (tmp_path / "-").exists()


def test_keygen_out_dash_is_stdout(tmp_path: Path) -> None:
    out = cli("keygen", "--type", "aes256", "--out", "-", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(bytes.fromhex(out.stdout.strip())) == 32
    assert not (tmp_path / "-").exists()


def test_keygen_ed25519_to_dash_is_refused(tmp_path: Path) -> None:
    out = cli("keygen", "--type", "ed25519", "--out", "-", cwd=tmp_path)
    refused(out, "not stdout", first=False)
    assert list(tmp_path.iterdir()) == []


def test_grafana_export_out_dash_is_refused(tmp_path: Path) -> None:
    out = cli("grafana", "export", "--out", "-", cwd=tmp_path)
    refused(out, "--out", "stdout", "./-", first=False)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_named_dash_is_still_written(tmp_path: Path) -> None:
    out = cli("grafana", "export", "--out", "./-", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "-" / "prometheus" / "article-monitor.rules.yml").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--offline", "-"),
        ("verify", "--key-file", "-", "."),
        ("status", "--config", "-"),
        ("status", "--data-dir", "-"),
        ("grafana", "push", "--url", "http://127.0.0.1:9", "--token-file", "-"),
    ],
    ids=["check-path", "key-file", "config", "data-dir", "token-file"],
)
def test_dash_as_an_input_is_said_to_be_no_stdin(tmp_path: Path, args: tuple[str, ...]) -> None:
    """No command reads stdin: `check -` reported a document `-` "no such file"
    (exit 1), `--config -` "config file not found: -"."""
    refused(cli(*args, cwd=tmp_path), "neither stdin nor stdout", "./-", first=False)
