"""A demanding new user's wrong use of the command line (issue: hostile CLI review).

Each case runs the installed CLI as a user would (a subprocess) and expects
one `Error: …` line and exit 2, never a traceback, and never a report that
reads as complete when the run did not happen.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, aes_key, one_article_corpus, shell_cli, user_env
from daemon_harness import refused as harness_refused


def cli(
    *args: str | Path, stdout: int | None = subprocess.PIPE, shell: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(map(str, args)) if shell else [CLI, *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env=user_env(),
        check=False,
    )


def refused(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, an `Error:` line (a warning may come first), no traceback."""
    return harness_refused(out, *needles, first=False)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return one_article_corpus(tmp_path)


@pytest.mark.parametrize("bundle", ["missing.pem", "corpus/a.txt"])
def test_a_bad_ca_bundle_writes_no_report(tmp_path: Path, corpus: Path, bundle: str) -> None:
    """Exit 2 means nothing was checked: no report on stdout that reads as a
    complete, healthy run of zero targets, and no report file."""
    out = cli("check", corpus, "--ca-bundle", tmp_path / bundle, "--format", "json")
    refused(out, "ca_bundle")
    assert out.stdout == ""
    report = tmp_path / "report.json"
    out = cli("check", corpus, "--ca-bundle", tmp_path / bundle, "-o", report)
    refused(out, "ca_bundle")
    assert not report.exists()


def closed_stdout(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The command run with its standard output closed (`>&-`)."""
    return cli("/bin/sh", "-c", 'exec "$@" >&-', "sh", CLI, *args, shell=True)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "{corpus}", "--offline"),
        ("check", "{corpus}", "--offline", "--format", "table"),
        ("verify", "{corpus}"),
        ("keygen",),
        ("config", "show"),
        ("sign", "{corpus}/a.txt", "--key-file", "{key}"),
        ("status", "--data-dir", "{data}"),
        ("cluster", "--data-dir", "{data}"),
        ("history", "http://news.test/a/", "--data-dir", "{data}"),
    ],
    ids=" ".join,
)
def test_a_closed_stdout_is_an_error_not_a_crash_nor_a_silent_success(
    tmp_path: Path, corpus: Path, args: tuple[str, ...]
) -> None:
    """`keygen >&-` made a key nobody could read and exited 0; `status >&-`
    crashed with an internal error. Output with nowhere to go is exit 2."""
    key = aes_key(tmp_path / "k.key")
    data = tmp_path / "data"
    if args[0] in ("status", "cluster", "history"):
        ran = cli(
            "run", corpus, "--once", "--data-dir", data, "--kinds", "web", "--listen", "127.0.0.1:0"
        )
        assert ran.returncode == 0, ran.stderr
    values = {"corpus": str(corpus), "key": str(key), "data": str(data)}
    out = closed_stdout(*(a.format(**values) for a in args))
    refused(out, "standard output is closed")


def test_a_closed_stdout_does_not_stop_a_report_written_to_a_file(
    tmp_path: Path, corpus: Path
) -> None:
    report = tmp_path / "report.json"
    out = closed_stdout("check", corpus, "--offline", "-o", report)
    assert out.returncode == 1, out.stderr  # the article lacks publishedDateTime
    assert json.loads(report.read_text())["summary"]["articles"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("grafana", "export", "--out", "{tmp}/g", "--down-share", "nan"), "--down-share"),
        (
            (
                "grafana",
                "push",
                "--url",
                "http://127.0.0.1:1",
                "--token-file",
                "{tmp}/t",
                "--down-share",
                "nan",
            ),
            "--down-share",
        ),
        (("status", "--data-dir", "{tmp}", "--limit", "-1"), "--limit"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else a,
)
def test_out_of_range_numbers_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    """`--down-share nan` passed click's range check (nan compares false) and
    crashed as an internal error; `status --limit -1` was read as "no limit"
    by SQLite and is an error in PostgreSQL."""
    (tmp_path / "t").write_text("token")
    (tmp_path / "t").chmod(0o600)
    refused(cli(*(a.format(tmp=tmp_path) for a in args)), needle)
    assert not (tmp_path / "g").exists()


def test_the_report_never_overwrites_a_document_it_checks(tmp_path: Path, corpus: Path) -> None:
    """`check a.txt -o a.txt` replaced the article by the report."""
    doc = corpus / "a.txt"
    before = doc.read_text()
    link = tmp_path / "hard.txt"
    os.link(doc, link)
    for target in (doc, link):
        refused(cli("check", doc, "--offline", "-o", target), "-o", "document")
        assert doc.read_text() == before


def test_the_report_never_overwrites_the_config_the_environment_names(
    tmp_path: Path, corpus: Path
) -> None:
    """ARTICLE_MONITOR_CONFIG names the config as --config does: `-o` onto it
    replaced it by the report."""
    config = tmp_path / "m.toml"
    config.write_text("retries = 0\n")
    out = shell_cli(
        '"$CLI" check "$C" --offline -o "$ARTICLE_MONITOR_CONFIG"',
        C=corpus,
        ARTICLE_MONITOR_CONFIG=config,  # the variable names the config, and -o onto it
    )
    refused(out, "-o", "--config")
    assert config.read_text() == "retries = 0\n"


def test_the_report_never_overwrites_a_key_named_kid_and_absolute_path(
    tmp_path: Path, corpus: Path
) -> None:
    """`key_file = ["new=/abs/a.key"]` in a config file: the guard looked for the key
    under the config's folder (the KID=PATH reading copied, without its rule for
    an absolute PATH), and `-o /abs/a.key` replaced the key by the report."""
    key = tmp_path / "keys" / "a.key"
    key.parent.mkdir()
    key.write_text("11" * 32)
    key.chmod(0o600)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "m.toml").write_text(f'key_file = ["new={key}"]\n')
    refused(
        cli("check", corpus, "--offline", "--config", etc / "m.toml", "-o", key),
        "-o",
        "--key-file",
    )
    assert key.read_text() == "11" * 32


@pytest.mark.parametrize("option", ["--key-file", "--config", "--ca-bundle"])
def test_the_report_never_overwrites_a_file_the_run_reads(
    tmp_path: Path, corpus: Path, option: str
) -> None:
    """`check … --key-file k.key -o k.key` replaced the key by the report."""
    given = tmp_path / "input"
    given.write_text("11" * 32 if option == "--key-file" else "")
    given.chmod(0o600)
    refused(cli("check", corpus, "--offline", option, given, "-o", given), "-o", option)
    assert given.read_text() == ("11" * 32 if option == "--key-file" else "")


@pytest.mark.parametrize("name", ["report.json", "sub/report.md"])
def test_a_report_inside_the_corpus_folder_is_refused(corpus: Path, name: str) -> None:
    """`check . -o report.json` read its own (empty) report file as a document:
    an invalid document, exit 1, on every run of a healthy corpus."""
    (corpus / "sub").mkdir()
    refused(cli("check", corpus, "--offline", "-o", corpus / name), "hidden name")
    assert not (corpus / name).exists()


@pytest.mark.parametrize("name", [".report.json", ".reports/report.json", "report.xml"])
def test_a_report_the_scan_skips_may_live_in_the_corpus_folder(corpus: Path, name: str) -> None:
    (corpus / ".reports").mkdir()
    out = cli("check", corpus, "--offline", "--format", "json", "-o", corpus / name)
    assert out.returncode == 1, out.stderr  # the article lacks publishedDateTime
    report = json.loads((corpus / name).read_text())
    assert report["summary"]["invalid_documents"] == 0


def test_stdout_redirected_into_the_corpus_folder_is_refused(corpus: Path) -> None:
    """`check corpus/ > corpus/report.json`: the shell makes the file before the
    run, so the scan read it, empty, as an invalid document (exit 1)."""
    report = corpus / "report.json"
    with report.open("w") as sink:
        out = subprocess.run(
            [CLI, "check", corpus, "--offline"],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    refused(out, "stdout", "hidden name")


@pytest.mark.parametrize(
    "args",
    [("check", "{corpus}", "--offline", "--format", "json"), ("verify", "{corpus}"), ("keygen",)],
    ids=" ".join,
)
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_reader_gone_is_said_plainly(corpus: Path, args: tuple[str, ...], buffered: bool) -> None:
    """`… | head -1`: the reader closed the pipe. One line that says so (it
    said `Error: Broken pipe`), no traceback, no `Exception ignored` at exit.
    Buffered (a pipe's usual state), a small report is written only at the end:
    the interpreter's own flush failed there, exit 120 and `Exception ignored`."""
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write fails, whatever the timing
    try:
        out = _run_into(write, [a.format(corpus=corpus) for a in args], buffered)
    finally:
        os.close(write)
    refused(out, "the output was closed by its reader")
    assert out.stderr.count("\n") == 1, out.stderr


def _run_into(stdout: Any, args: list[str], buffered: bool) -> subprocess.CompletedProcess[str]:
    """The CLI with its standard output on `stdout`, block-buffered (as a pipe or a
    file is without PYTHONUNBUFFERED, which CI does not set) or not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [CLI, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        env=env if buffered else {**env, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "args",
    [("check", "{corpus}", "--offline", "--format", "json"), ("keygen",)],
    ids=" ".join,
)
def test_a_full_disk_under_stdout_is_an_error(
    corpus: Path, args: tuple[str, ...], buffered: bool
) -> None:
    """`check … > /dev/full`: the report never written was exit 120 (or 0) with
    `Exception ignored … No space left on device` from the interpreter's exit."""
    with open("/dev/full", "w") as full:
        out = _run_into(full, [a.format(corpus=corpus) for a in args], buffered)
    refused(out, "No space left on device")
    assert "Exception ignored" not in out.stderr and out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize("token", ["/dev/zero", "{tmp}/fifo", "{tmp}/missing"])
def test_grafana_push_reads_a_token_file_safely(tmp_path: Path, token: str) -> None:
    """`--token-file /dev/zero` read until memory ran out (an internal error,
    or the machine's OOM killer); a FIFO waited for a writer forever."""
    os.mkfifo(tmp_path / "fifo")
    out = cli(
        "grafana", "push", "--url", "http://127.0.0.1:1", "--token-file", token.format(tmp=tmp_path)
    )
    refused(out, "--token-file")


@pytest.mark.parametrize("command", [("check", "{corpus}"), ("run", "{corpus}", "--once")])
def test_a_ca_bundle_that_is_a_fifo_is_refused_not_waited_on(
    tmp_path: Path, corpus: Path, command: tuple[str, ...]
) -> None:
    """OpenSSL opened `--ca-bundle FIFO` by name and waited for a writer forever."""
    os.mkfifo(tmp_path / "fifo")
    args = [a.format(corpus=corpus) for a in command]
    out = cli(*args, "--ca-bundle", tmp_path / "fifo", "--data-dir", tmp_path / "data")
    refused(out, "ca_bundle", "not a regular file")


@pytest.mark.parametrize("fmt", ["json", "junit", "markdown", "table"])
def test_a_report_file_that_cannot_be_written_is_named(corpus: Path, fmt: str) -> None:
    """`-o /dev/full` said only `Error: No space left on device`."""
    out = cli("check", corpus, "--offline", "--format", fmt, "-o", "/dev/full")
    refused(out, "/dev/full", "cannot write the report", "No space left on device")


@pytest.mark.parametrize("command", ["check", "verify"])
def test_a_path_with_no_documents_is_said(tmp_path: Path, command: str) -> None:
    """A wrong (empty) folder passed as healthy in silence: a CI job pointed at
    the wrong place stayed green. The run still exits 0 (an empty corpus is
    valid) but says on stderr that it found nothing to check."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("not a corpus file\n")
    args = ["--offline"] if command == "check" else []
    out = cli(command, empty, *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["summary"]["articles"] == 0
    assert "Warning: no documents found" in out.stderr
    assert "*.txt" in out.stderr


def test_run_once_over_a_missing_path_exits_1(tmp_path: Path, corpus: Path) -> None:
    """`run --once /typo` logged an error and exited 0: a cron job never
    learnt that its corpus was not there (`run --help`: 1 with --once when the
    corpus could not be recorded)."""
    missing = tmp_path / "typo"
    out = cli(
        "run",
        corpus,
        missing,
        "--once",
        "--data-dir",
        tmp_path / "data",
        "--kinds",
        "web",
        "--listen",
        "127.0.0.1:0",
    )
    assert out.returncode == 1, out.stderr
    assert f"Error: corpus path missing: {missing}" in out.stderr
    assert "Traceback" not in out.stderr
    healthy = cli(
        "run",
        corpus,
        "--once",
        "--data-dir",
        tmp_path / "data",
        "--kinds",
        "web",
        "--listen",
        "127.0.0.1:0",
    )
    assert healthy.returncode == 0, healthy.stderr


def test_a_signal_during_a_command_does_not_say_it_had_not_begun(tmp_path: Path) -> None:
    """`grafana push` stopped by Ctrl-C while waiting on Grafana said
    "interrupted (SIGINT) before the command began": it had begun, and may
    have uploaded part of its work."""
    import signal
    import socket

    token = tmp_path / "token"
    token.write_text("t0ken")
    token.chmod(0o600)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        proc = subprocess.Popen(
            [CLI, "grafana", "push", "--url", f"http://127.0.0.1:{port}", "--token-file", token],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        conn, _ = server.accept()  # the command is running: it is talking to "Grafana"
        with conn:
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted (SIGINT) during `grafana push`" in stderr
    assert "before the command began" not in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "command",
    [
        ("check", "--offline"),
        ("verify",),
        ("sign", "--key-file", "{key}"),
        ("run", "--once"),
        ("config", "show"),
    ],
    ids=lambda c: c[0] if c[0] != "config" else "config show",
)
def test_an_empty_path_is_a_usage_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    """`check "$CORPUS"` with the variable unset checked the current folder."""
    key = aes_key(tmp_path / "k.key")
    args = [a.format(key=key) for a in command]
    out = cli(*args, "", "--data-dir", tmp_path / "data") if command[0] == "run" else cli(*args, "")
    refused(out, "empty PATH")


@pytest.mark.parametrize(
    "args",
    [
        ("grafana", "export", "--out", ""),
        ("check", "{corpus}", "--offline", "-o", ""),
        ("check", "{corpus}", "--offline", "--config", ""),
        ("keygen", "--out", ""),
        ("verify", "{corpus}", "--key-file", ""),
    ],
    ids=" ".join,
)
def test_an_empty_path_option_is_a_usage_error(
    tmp_path: Path, corpus: Path, args: tuple[str, ...]
) -> None:
    """`grafana export --out "$DIR"` with the variable unset wrote its files
    into the current folder; `-o ""` said only `.: Is a directory`."""
    work = tmp_path / "cwd"
    work.mkdir()
    out = subprocess.run(
        [CLI, *(a.format(corpus=corpus) for a in args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
        check=False,
    )
    refused(out, "empty")
    assert list(work.iterdir()) == []


def test_keygen_into_a_file_others_can_read_says_so(tmp_path: Path) -> None:
    """`keygen > key.hex` leaves the key at the shell's 0644: `verify` then
    refuses it. Said at once, with the fix, not at the first verify."""
    key = tmp_path / "key.hex"
    with key.open("w") as sink:
        key.chmod(0o644)
        out = subprocess.run(
            [CLI, "keygen"], stdout=sink, stderr=subprocess.PIPE, text=True, timeout=60, check=False
        )
    assert out.returncode == 0, out.stderr
    assert len(key.read_text().strip()) == 64
    assert f"chmod 600 {key}" in out.stderr
    key.chmod(0o600)
    with key.open("w") as sink:
        out = subprocess.run(
            [CLI, "keygen"], stdout=sink, stderr=subprocess.PIPE, text=True, timeout=60, check=False
        )
    assert out.stderr == ""
