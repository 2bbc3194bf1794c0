"""html.parser broken is a broken install, said as one: `Error: cannot import html
(…): the install is broken…`, exit 2, no traceback, no verdict of the page.

Since issue 16's twenty-first session, html.parser's head reader is imported at the
first head the fast scanner gives up on (here: markup inside <title>), in the middle
of a check. A broken html.parser there was, in `check`, "internal error … a bug"
with an ExceptionGroup's traceback (exit 70); with `--workers 2` each checker
process's traceback and "a checker worker process ended with exit status 1", the
report missing the targets (exit 1); in the daemon a traceback logged for each such
page, "check failed unexpectedly" and nothing recorded (`run --once` exit 1).

The broken html.parser is an `html` package on PYTHONPATH that is the standard
library's (html.escape, html.unescape work) but whose `parser` raises at its import,
or is missing. Each case is one CLI process (~0.6 s) and one loopback request.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from daemon_harness import CLI, refused, user_env

# markup inside <title>: the fast scanner leaves this head to html.parser
ODD_HEAD = b"<html><head><title>A <b>bold</b> title</title></head><body>x</body></html>"
STDLIB_HTML = Path(html.__file__).parent
PARSER = {
    "runtime": 'raise RuntimeError("half installed")\n',
    "missing": None,  # html/parser.py absent: No module named 'html.parser'
}
SAID = {
    "runtime": "Error: cannot import html (RuntimeError: half installed)",
    "missing": "Error: cannot import html.parser (No module named 'html.parser')",
}


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(ODD_HEAD)))
        self.end_headers()
        self.wfile.write(ODD_HEAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def broken_html(tmp_path: Path, how: str) -> dict[str, str]:
    """An environment whose `html` is the standard library's but html.parser is broken."""
    package = tmp_path / "shim" / "html"
    package.mkdir(parents=True)
    for name in ("__init__.py", "entities.py"):
        real = STDLIB_HTML / name
        (package / name).write_text(
            f"exec(compile(open({str(real)!r}).read(), {str(real)!r}, 'exec'))\n"
        )
    if PARSER[how] is not None:
        (package / "parser.py").write_text(PARSER[how])
    path = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH", "")) if p)
    return user_env(PYTHONPATH=path)


def corpus(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "a.jsonl"
    path.write_text(f'{{"webUrl": "http://127.0.0.1:{port}/a/", "title": "t"}}\n')
    return path


def cli(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize(("how", "workers"), [("runtime", "1"), ("missing", "1"), ("runtime", "2")])
def test_check_meeting_a_broken_html_parser_says_the_install_is_broken(
    tmp_path: Path, site: int, how: str, workers: str
) -> None:
    """Exit 70 and a traceback (workers 1), exit 1 and a report missing the target
    with a checker process's traceback (workers 2), before the fix."""
    env = broken_html(tmp_path, how)
    done = cli(
        env, "check", corpus(tmp_path, site), "--workers", workers, "--format", "json",
        "--allow-network", "127.0.0.0/8", "--retries", "0",
    )  # fmt: skip
    said = SAID[how] if workers == "1" else SAID[how].removeprefix("Error: ")
    stderr = refused(done, said, "the install is broken", first=False)
    if workers != "1":  # the checker process said which; the run ends as broken
        assert stderr.splitlines()[-1].startswith("Error: a checker process"), stderr
        assert "cannot import a package (said above): the install is broken" in stderr
    assert "internal error" not in stderr
    # met midway: the report so far, marked incomplete (check --help, README)
    assert json.loads(done.stdout)["summary"]["incomplete"] is True


def test_check_with_html_parser_working_reads_that_head(tmp_path: Path, site: int) -> None:
    """The control: the same page, the same shim without its broken parser module
    (the standard library's html.parser found through it), is checked ok."""
    env = broken_html(tmp_path, "missing")
    real = STDLIB_HTML / "parser.py"
    (tmp_path / "shim" / "html" / "parser.py").write_text(
        f"exec(compile(open({str(real)!r}).read(), {str(real)!r}, 'exec'))\n"
    )
    done = cli(
        env, "check", corpus(tmp_path, site), "--format", "json",
        "--allow-network", "127.0.0.0/8", "--retries", "0",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the record lacks fields: problems, not errors
    (target,) = json.loads(done.stdout)["articles"][0]["targets"]
    assert (target["outcome"], target["http_status"]) == ("ok", 200), target
    assert done.stderr == "", done.stderr


def test_run_with_a_broken_html_parser_is_refused_at_its_start(tmp_path: Path, site: int) -> None:
    """`run --once` checked the page, logged a traceback and 'check failed
    unexpectedly' and ended `1 checks failed unexpectedly, not recorded` (exit 1),
    before the fix: the daemon now imports the head reader at its start."""
    (tmp_path / "corpus").mkdir()
    corpus(tmp_path / "corpus", site)
    config = tmp_path / "config.toml"
    config.write_text(
        f'paths = ["{tmp_path / "corpus"}"]\ndata_dir = "{tmp_path / "data"}"\n'
        'listen = "127.0.0.1:0"\nallow_network = ["127.0.0.0/8"]\nretries = 0\n'
    )
    done = cli(broken_html(tmp_path, "runtime"), "run", "--config", config, "--once")
    refused(done, SAID["runtime"], "the install is broken")
    assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize(
    ("raises", "said"),
    [
        ('raise RuntimeError("half installed")\n', "(RuntimeError: half installed)"),
        (
            'raise ModuleNotFoundError("No module named \'pydantic\'", name="pydantic")\n',
            "(No module named 'pydantic')",
        ),
    ],
)
def test_a_broken_pydantic_is_said_not_a_traceback(tmp_path: Path, raises: str, said: str) -> None:
    """The class of the above, at the start: the CLI's error handler imported
    monitor.config (pydantic with it) to ask whether the error was a ConfigError,
    failed again inside the handler, and ended with a traceback and exit 1 before
    the fix. `check --offline`: no request."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "pydantic.py").write_text(raises)
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
    (tmp_path / "a.jsonl").write_text('{"webUrl": "http://127.0.0.1:9/a/", "title": "t"}\n')
    done = cli(user_env(PYTHONPATH=path), "check", tmp_path / "a.jsonl", "--offline")
    refused(done, f"Error: cannot import pydantic {said}", "the install is broken")
    assert len(done.stderr.splitlines()) == 1, done.stderr
