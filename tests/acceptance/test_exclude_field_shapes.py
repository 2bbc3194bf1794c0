"""An `exclude_fields` path that can only match nothing (a control character, a
space around a segment, a `*` within one) is refused with `Error:` and exit 2,
from the flag, the config file and the environment, in `verify`, `sign` and
`check`: it was taken, excluded nothing, and every signature that relied on it
failed as `tampered` with no word about the setting.

Runs the installed CLI (a subprocess per case); nothing touches the network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus, refused


def cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    out = cli("keygen", "--type", "aes256", "--out", tmp_path / "pub.key", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return tmp_path / "pub.key"


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("images.0\n.url", "control character (\\n)"),
        ("title\u2028", "control character (\\u2028)"),
        ("images. title", "space around the segment"),
        ("images.*x", "whole segment only"),
    ],
    ids=["newline", "line-separator", "space", "star"],
)
@pytest.mark.parametrize("command", ["verify", "sign"])
def test_the_flag(tmp_path: Path, key: Path, command: str, path: str, said: str) -> None:
    corpus = one_article_corpus(tmp_path)
    out = cli(command, corpus, "--key-file", key, "--exclude-field", path, cwd=tmp_path)
    refused(out, "exclude field", said, first=False)


def test_the_config_file(tmp_path: Path, key: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    (tmp_path / "m.toml").write_text('exclude_fields = ["provider.name", "title\\u0085"]\n')
    out = cli("check", "--offline", "--config", "m.toml", "--key-file", key, corpus, cwd=tmp_path)
    refused(out, "exclude field", "control character (\\x85)", first=False)


def test_the_variable(tmp_path: Path, key: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    env = {"ARTICLE_MONITOR_EXCLUDE_FIELDS": "images.*.ti*le"}
    out = cli("verify", corpus, "--key-file", key, cwd=tmp_path, env=env)
    refused(out, "exclude field", "whole segment only", first=False)


def test_a_wildcard_path_is_still_taken(tmp_path: Path, key: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    out = cli(
        "verify", corpus, "--key-file", key, "--exclude-field", "images.*.title", cwd=tmp_path
    )
    assert out.returncode in (0, 1), out.stderr
    assert "exclude field" not in out.stderr
