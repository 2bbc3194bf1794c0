"""A package that fails to import in any way is a broken install: `Error: cannot
import NAME (…): the install is broken…`, exit 2, no traceback, no verdict.

Only an ImportError naming the package was said so. A half-installed package
whose import raises something else (a RuntimeError, an ImportError naming
nothing, as a compiled extension's loader raises) was, at `run`'s start, a
traceback (exit 70); in `check`, PyYAML's was "internal error while reading this
file" for every front-matter file (exit 1: the install's failure read as the
documents'), and publicsuffixlist's a traceback. aiohttp missing in any way made
`check` hang for ever (its own share of the checks failed to import the engine
before the `finally` that ends the share, and the pool waited for that end), and
each `--workers` process printed a traceback. A publicsuffixlist whose list (a file
of its install) is missing was the corpus file's failure: the daemon said "cannot
read FILE: no such file or directory" of each corpus file, there all along, and
`run --once` ended "unreadable document" (exit 1).

Each broken package is a module of its name on PYTHONPATH that raises at its
import. Each case is one process (~0.5 s); no request is made (the one URL is a
closed loopback port, never reached: the engine does not import).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from daemon_harness import CLI, refused, user_env

from monitor.cli import cli as main_cli

FRONT_MATTER = '---\nwebUrl: "http://127.0.0.1:9/a/"\ntitle: "t"\n---\n'
LINE = '{"webUrl": "http://127.0.0.1:9/a/", "title": "t", "provider": {"domain": "x.test"}}\n'
RAISES = {
    "runtime": 'raise RuntimeError("half installed")\n',
    "nameless": 'raise ImportError("libyaml.so.0: cannot open shared object file")\n',
    "missing": 'raise ModuleNotFoundError("No module named {module!r}", name="{module}")\n',
    # a file that does not compile (written halfway): no frame of it in the traceback
    "syntax": "def broken(:\n",
    # importable, its data file gone
    "listless": "class PublicSuffixList:\n"
    "    def __init__(self, *args, **kwargs):\n"
    "        open('/nonexistent/publicsuffixlist/public_suffix_list.dat')\n",
}
SAID = {
    "runtime": "(RuntimeError: half installed)",
    "nameless": "(libyaml.so.0: cannot open shared object file)",
    "missing": "(No module named ",
    "syntax": "(SyntaxError: invalid syntax ({module}.py, line 1))",
    "listless": "(FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/",
}


def broken(tmp_path: Path, module: str, how: str) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / f"{module}.py").write_text(RAISES[how].format(module=module))
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
    return user_env(PYTHONPATH=path)


def cli(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, timeout=30, env=env
    )


@pytest.mark.parametrize("how", ["runtime", "nameless", "syntax"])
def test_run_with_a_half_installed_yaml_is_refused_at_its_start(tmp_path: Path, how: str) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(FRONT_MATTER)
    config = tmp_path / "config.toml"
    config.write_text(
        f'paths = ["{tmp_path / "corpus"}"]\ndata_dir = "{tmp_path / "data"}"\n'
        'listen = "127.0.0.1:0"\n'
    )
    done = cli(broken(tmp_path, "yaml", how), "run", "--config", config, "--once")
    refused(
        done,
        "Error: cannot import yaml " + SAID[how].format(module="yaml"),
        "the install is broken",
    )
    assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize("how", ["runtime", "nameless", "missing", "syntax"])
def test_check_with_yaml_broken_says_so_not_invalid_documents(tmp_path: Path, how: str) -> None:
    (tmp_path / "a.txt").write_text(FRONT_MATTER)
    done = cli(broken(tmp_path, "yaml", how), "check", tmp_path / "a.txt", "--offline")
    refused(done, "Error: cannot import yaml " + SAID[how].format(module="yaml"), first=False)
    assert "internal error" not in done.stdout + done.stderr, done.stdout


@pytest.mark.parametrize("how", ["runtime", "listless"])
def test_check_with_publicsuffixlist_broken_says_so(tmp_path: Path, how: str) -> None:
    (tmp_path / "a.jsonl").write_text(LINE)
    env = broken(tmp_path, "publicsuffixlist", how)
    done = cli(env, "check", tmp_path / "a.jsonl", "--offline")
    refused(done, "Error: cannot import publicsuffixlist " + SAID[how])


def test_run_with_the_public_suffix_list_missing_is_refused_at_its_start(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.jsonl").write_text(LINE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'paths = ["{tmp_path / "corpus"}"]\ndata_dir = "{tmp_path / "data"}"\n'
        'listen = "127.0.0.1:0"\n'
    )
    env = broken(tmp_path, "publicsuffixlist", "listless")
    done = cli(env, "run", "--config", config, "--once")
    refused(done, "Error: cannot import publicsuffixlist " + SAID["listless"])
    assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("how", ["runtime", "missing"])
def test_check_with_aiohttp_broken_ends_saying_so(tmp_path: Path, how: str, workers: str) -> None:
    """It hung (the subprocess's timeout ends the test, failing, before the fix)."""
    (tmp_path / "a.jsonl").write_text(LINE)
    env = broken(tmp_path, "aiohttp", how)
    done = cli(env, "check", tmp_path / "a.jsonl", "--workers", workers, "-o", os.devnull)
    refused(done, "Error: cannot import aiohttp " + SAID[how], first=False)
    others = [line for line in done.stderr.splitlines() if not line.startswith("Error:")]
    assert all("cannot import aiohttp" in line for line in others), done.stderr


def signed_corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A v2-signed article and its AES key, made in this process (the install whole)."""
    key, corpus = tmp_path / "publisher.key", tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(FRONT_MATTER.replace('title: "t"', 'title: "A story"'))
    clean = {name: None for name in os.environ if name.startswith("ARTICLE_MONITOR_")}
    for args in (
        ["keygen", "--type", "aes256", "--out", str(key)],
        ["sign", str(corpus / "a.txt"), "--key-file", str(key), "--in-place"],
    ):
        done = CliRunner().invoke(main_cli, args, env=clean)
        assert done.exit_code == 0, done.output
    return key, corpus


@pytest.mark.parametrize("how", ["runtime", "missing"])
@pytest.mark.parametrize("command", ["verify", "check"])
def test_a_broken_cryptography_is_no_verdict(tmp_path: Path, how: str, command: str) -> None:
    """Its import fails at the first signed record (imported late: issue 16; its
    compiled part missing is the usual way): every signed record came out
    `malformed: internal error`, exit 1, rather than the install said broken."""
    key, corpus = signed_corpus(tmp_path)
    env = broken(tmp_path, "cryptography", how)
    extra = ["--offline", "-o", os.devnull] if command == "check" else []
    done = cli(env, command, corpus, "--key-file", key, *extra)
    refused(done, "Error: cannot import cryptography " + SAID[how])
    assert "malformed" not in done.stdout, done.stdout


def test_the_daemon_stores_no_verdict_for_a_broken_cryptography(tmp_path: Path) -> None:
    key, corpus = signed_corpus(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(
        f'paths = ["{corpus}"]\ndata_dir = "{tmp_path / "data"}"\nlisten = "127.0.0.1:0"\n'
        f'key_file = ["{key}"]\n'
    )
    done = cli(broken(tmp_path, "cryptography", "runtime"), "run", "--config", config, "--once")
    assert "cannot import cryptography (RuntimeError: half installed)" in done.stderr
    assert "Traceback" not in done.stderr and "malformed" not in done.stderr, done.stderr
    db = sqlite3.connect(tmp_path / "data" / "article-monitor.db")
    try:
        assert db.execute("select signature_status from articles").fetchall() == []
    finally:
        db.close()
