"""A second command in the same process hears SIGINT and SIGTERM again.

A command ending holds the stop signals for the process's exit: `run` marked
the process as ending with its daemon (its stop signals ignored from the
daemon's stop on) and `run`, `check` and `verify` blocked them, all for the rest
of the process. Right for the console script, which exits next; but an
in-process caller (a test's CliRunner, anything calling `monitor.cli.main`
twice) had a second command deaf to them: a SIGTERM to it was held pending and
the command ran to its end (exit 0). Now what the first command held is given
back when the next one begins. Both run through the CLI's `main` in one
subprocess (its signal handlers are its own); the second sends itself SIGTERM
from a point inside `keygen`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, signal, sys
    import monitor.cli
    import monitor.secured.keygen as keygen

    first, second = json.loads(sys.argv[1]), json.loads(sys.argv[2])

    def invoke(argv):
        sys.argv = ["article-monitor", *argv]
        try:
            monitor.cli.main()
        except SystemExit as exc:
            return exc.code
        return None

    print("first", invoke(first), flush=True)
    real = keygen.new_key_files

    def new_key_files(*args, **kwargs):
        signal.raise_signal(signal.SIGTERM)  # to this thread, the main one
        return real(*args, **kwargs)

    keygen.new_key_files = new_key_files
    print("second", invoke(second), flush=True)
    """
)


def _first_commands(tmp_path: Path) -> dict[str, list[str]]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # a port nothing listens on: the pass ends at once, with the check recorded
    (corpus / "a.json").write_text('{"webUrl": "http://127.0.0.1:9/a", "title": "t"}\n')
    return {
        "run --once": [
            "run",
            str(corpus),
            "--once",
            "--data-dir",
            str(tmp_path / "data"),
            "--listen",
            "127.0.0.1:0",
            "--allow-network",
            "127.0.0.0/8",
            "--retries",
            "0",
        ],
        "check --offline": ["check", str(corpus), "--offline", "-o", str(tmp_path / "r.json")],
    }


@pytest.mark.parametrize("first", ["run --once", "check --offline"])
def test_a_second_command_in_the_process_is_stopped_by_sigterm(tmp_path: Path, first: str) -> None:
    import json

    first_argv = _first_commands(tmp_path)[first]
    key = tmp_path / "second.key"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            json.dumps(first_argv),
            json.dumps(["keygen", "--out", str(key)]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] in ("first 0", "first 1"), (done.stdout, done.stderr)
    assert lines[1:] == ["second 130"], (done.stdout, done.stderr)
    assert "interrupted (SIGTERM) during `keygen`" in done.stderr, done.stderr
    assert not key.exists()
    assert done.returncode == 0, done.stderr


THREADED = textwrap.dedent(
    """
    import json, sys, threading
    from click.testing import CliRunner
    from monitor.cli import cli

    first = CliRunner().invoke(cli, json.loads(sys.argv[1]))
    second = {}

    def invoke():
        done = CliRunner().invoke(cli, json.loads(sys.argv[2]))
        second["code"], second["output"] = done.exit_code, done.output

    thread = threading.Thread(target=invoke)
    thread.start()
    thread.join(60)
    print(json.dumps({"first": first.exit_code, **second}))
    """
)


def test_a_second_command_on_another_thread_runs(tmp_path: Path) -> None:
    """A test's `asyncio.to_thread(CliRunner().invoke, ...)` after a command that
    held the stop signals (here `run` refusing a public listen): giving them back
    there was `signal.signal` off the main thread, 'internal error (ValueError:
    signal only works in main thread ...)', exit 70. Only the main thread sets
    them; they are given back when a command begins there."""
    import json

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    first = ["run", str(corpus), "--data-dir", str(tmp_path / "data"), "--listen", "[::]:0"]
    done = subprocess.run(
        [sys.executable, "-c", THREADED, json.dumps(first), json.dumps(["config", "show"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["first"] == 2, said  # refused: beyond loopback without protection
    assert said["code"] == 0, said["output"]
    assert json.loads(said["output"])["listen"], said["output"]
