"""A path setting holding a line break or another control character is refused,
`Error:` and exit 2 naming the setting, from every layer (flag, config file,
environment): it is a paste error, never a file anyone named so. Taken, `run
--data-dir $'data\\n'` made a folder `data\\n` and ran; `status` said "no database
at …" across two lines; a key file's path was read as another file's.

Runs the installed CLI (a subprocess per case); nothing touches the network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus, refused

KEY = "k" * 64  # 32 bytes as hex


def cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "ARTICLE_MONITOR_LISTEN": "127.0.0.1:0", **(env or {})},
    )


def created(tmp: Path) -> list[str]:
    """Every name under `tmp` that holds a control character."""
    return [str(p) for p in tmp.rglob("*") if any(ord(c) < 32 for c in p.name)]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("run", "--once", "--data-dir", "data\n"), "--data-dir"),
        (("status", "--data-dir", "da\rta"), "--data-dir"),
        (("status", "--db", "sqlite:///mon\nitor.db"), "db (from flag --db)"),
        (("check", "--offline", "-o", "report\n.json", "{corpus}"), "--output"),
        (("verify", "--key-file", "key\n", "{corpus}"), "--key-file"),
        (("check", "--offline", "{corpus}\n"), "PATHS"),
        (("status", "--config", "monitor\t.toml"), "--config"),
        (("grafana", "export", "--out", "dash\x1b[2J"), "--out"),
    ],
    ids=["run-data-dir", "status-data-dir", "db", "output", "key-file", "path", "config", "out"],
)
def test_a_flag(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    corpus = one_article_corpus(tmp_path)
    given = [a.replace("{corpus}", str(corpus)) for a in args]
    err = refused(cli(*given, cwd=tmp_path), named, "at character", "no path holds", first=False)
    assert err.count("\n") <= 5, err  # the path's line break is not printed raw
    assert created(tmp_path) == []


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('data_dir = "data\\n"', "data_dir (from file"),
        ('key_file = ["ok.key", "bad\\r\\n.key"]', "key_file (from file"),
        ('paths = ["corpus\\u2028"]', "paths (from file"),
        ('ca_bundle = "ca\\u0085.pem"', "ca_bundle (from file"),
        ('db = "sqlite:///x\\n.db"', "db (from file"),
        (
            '[[request_headers]]\nhosts = ["a.example"]\nname = "X-A"\nvalue_file = "v\\n"',
            "request_headers.0.value_file (from file",
        ),
    ],
    ids=["data_dir", "key_file", "paths", "ca_bundle", "db", "header-file"],
)
def test_a_config_file_value(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "monitor.toml").write_text(toml + "\n")
    err = refused(
        cli("status", "--config", "monitor.toml", cwd=tmp_path), named, "no path holds", first=False
    )
    assert "Traceback" not in err
    assert created(tmp_path) == []


@pytest.mark.parametrize(
    ("variable", "named"),
    [
        ("ARTICLE_MONITOR_DATA_DIR", "data_dir (from environment"),
        ("ARTICLE_MONITOR_KEY_FILE", "key_file (from environment"),
        ("ARTICLE_MONITOR_CONFIG", "ARTICLE_MONITOR_CONFIG:"),
    ],
)
def test_a_variable(tmp_path: Path, variable: str, named: str) -> None:
    out = cli("status", cwd=tmp_path, env={variable: "some\npath"})
    refused(out, named, "line break", "no path holds", first=False)
    assert created(tmp_path) == []


def test_the_value_is_not_echoed(tmp_path: Path) -> None:
    """A key pasted where its file's name goes is never printed back."""
    out = cli("verify", "--key-file", f"{KEY}\n", tmp_path, cwd=tmp_path)
    err = refused(out, "--key-file", first=False)
    assert KEY not in err and KEY[:16] not in err


def test_a_plain_path_still_works(tmp_path: Path) -> None:
    """Spaces and non-ASCII letters are names people give; only controls are refused."""
    corpus = one_article_corpus(tmp_path)
    out = cli("check", "--offline", "-o", "rapport d'été.json", corpus, cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert (tmp_path / "rapport d'été.json").is_file()


def test_an_existing_file_named_so_is_still_checked(tmp_path: Path) -> None:
    """A file that is there under a name holding a tab (or macOS's `Icon\\r`) is
    checked when its folder is walked; named itself, as `check corpus/*` or
    `find -print0 | xargs -0` name it, it refused the whole command (exit 2)."""
    corpus = one_article_corpus(tmp_path)
    article = next(p for p in Path(corpus).rglob("*") if p.is_file())
    odd = article.with_name("tab\there" + article.suffix)
    article.rename(odd)
    out = cli("check", "--offline", "--format", "json", str(odd), cwd=tmp_path)
    assert out.returncode != 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "tab\\there" in out.stdout  # the report names it (JSON-escaped)
    missing = cli("check", "--offline", str(odd) + "x\t", cwd=tmp_path)
    assert missing.returncode == 2 and "holds a tab" in missing.stderr
