"""The one top-level handler: environmental failures are `Error: …` and exit 2,
anything else is reported as a bug, with its traceback, and exit 70."""

from __future__ import annotations

import os
import sqlite3

import click
import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from monitor.cli import COMMANDS, EXIT_BUG, EXIT_USAGE, cli, known_error
from monitor.config import ConfigError
from monitor.storage.opening import DatabaseUnusable

RAISED: list[BaseException] = []


@click.command()
def boom() -> None:
    raise RAISED[0]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setitem(COMMANDS, "boom", f"{__name__}:boom")
    RAISED.clear()
    return CliRunner()


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (PermissionError(13, "Permission denied", "/data/x.db"), "/data/x.db: Permission denied"),
        (OSError(98, "Address already in use"), "Address already in use"),
        (ConfigError("listen: bad"), "listen: bad"),
        (DatabaseUnusable("x.db is damaged (…)"), "x.db is damaged (…)"),
        (
            OperationalError("SELECT 1", None, sqlite3.OperationalError("database is locked")),
            "database: database is locked",
        ),
    ],
)
def test_known_failures_are_one_line_and_exit_2(
    runner: CliRunner, exc: BaseException, message: str
) -> None:
    RAISED.append(exc)
    out = runner.invoke(cli, ["boom"])
    assert out.exit_code == EXIT_USAGE
    assert out.output == f"Error: {message}\n"
    assert known_error(exc) == message


def test_a_bug_says_so_and_keeps_its_traceback(runner: CliRunner) -> None:
    RAISED.append(KeyError("oops"))
    out = runner.invoke(cli, ["boom"])
    assert out.exit_code == EXIT_BUG
    first, *rest = out.output.splitlines()
    assert first.startswith("Error: internal error (KeyError: 'oops'). This is a bug")
    assert "Traceback (most recent call last)" in rest[0]
    assert "raise RAISED[0]" in out.output  # where it happened, for the report


def test_click_exits_and_usage_errors_pass_through(runner: CliRunner) -> None:
    RAISED.append(click.UsageError("bad flag"))
    out = runner.invoke(cli, ["boom"])
    assert out.exit_code == 2 and "Error: bad flag" in out.output
    RAISED[0] = click.exceptions.Exit(0)
    assert runner.invoke(cli, ["boom"]).exit_code == 0


def test_a_broken_pipe_elsewhere_does_not_silence_standard_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EPIPE or ENOSPC without a file name is standard output's only when standard
    output is the one failing: a socket's took its report away (sent to
    /dev/null) and was said as `the output was closed by its reader`."""
    read, write = os.pipe()
    with os.fdopen(write, "w") as out, os.fdopen(read) as back:
        monkeypatch.setattr("sys.stdout", out)
        assert known_error(BrokenPipeError(32, "Broken pipe")) == "Broken pipe"
        assert known_error(OSError(28, "No space left on device")) == "No space left on device"
        out.write("still delivered\n")
        out.flush()
        assert back.readline() == "still delivered\n"
