"""`history -1` said "No such option '-1'": click reads a word that begins with
`-` as an option. No target or article id is negative (nor 0), so the error
says what ids are; another command's argument that begins with `-` is told to
go after `--`; `history --help` lists the forms of its argument.

Runs the installed CLI (a subprocess per case); no database is needed: a
negative id is refused before one is opened.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, refused


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize("args", [("-1",), ("-42", "--format", "json"), ("--", "-1"), ("0",)])
def test_history_of_a_negative_or_zero_id(tmp_path: Path, args: tuple[str, ...]) -> None:
    err = refused(cli("history", *args, cwd=tmp_path), "positive whole number", first=False)
    assert "No such option" not in err
    assert "no database" not in err  # said of the argument, before any database


def test_an_argument_of_check_that_begins_with_a_dash(tmp_path: Path) -> None:
    err = refused(cli("check", "--offline", "-1", cwd=tmp_path), first=False)
    assert "goes after '--'" in err and "check -- -1" in err, err


def test_a_mistyped_option_is_still_said_as_such(tmp_path: Path) -> None:
    err = refused(cli("history", "-x", "1", cwd=tmp_path), "No such option", first=False)
    assert "negative" not in err


def test_history_help_teaches_the_forms(tmp_path: Path) -> None:
    out = cli("history", "--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for form in ("target's URL", "target's id", "article's id", "webUrl", "history -- -x"):
        assert form in out.stdout, out.stdout


def test_a_decimal_is_named_whole(tmp_path: Path) -> None:
    """click names `-0.5` its option `-0`: `check -0.5` was told to run `check -- -0`,
    another argument than the one given, and `history -1.5` heard as `-1`."""
    err = refused(cli("check", "--offline", "-0.5", cwd=tmp_path), first=False)
    assert "check -- -0.5" in err and "'-0.5' is not an option" in err, err
    err = refused(cli("history", "-1.5", cwd=tmp_path), "positive whole number", first=False)
    assert "'-1.5'" in err, err
