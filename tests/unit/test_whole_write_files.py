"""Key files, signed documents, report files and Grafana files on a file that
takes no bytes (write(2) returning 0: a broken FUSE file system or driver) fail
with a message, as a full disk does; their write loops spun for ever. A real
descriptor cannot be made to take nothing, so the write is faked: os.write for
descriptors above 2, or WholeWrites's one write(2)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.writes import TakesNothing

from monitor.cli import cli
from monitor.config import ConfigError
from monitor.grafana import export
from monitor.secured.inplace import rewrite_file
from monitor.secured.keygen import SECRET_MODE, KeyFile, write_key_files
from monitor.whole_write import NO_PROGRESS, WholeWrites


@pytest.fixture
def takes_nothing(monkeypatch: pytest.MonkeyPatch) -> Iterator[TakesNothing]:
    real = os.write
    nothing = TakesNothing()

    def write(fd: int, data: bytes) -> int:
        return real(fd, data) if fd <= 2 else nothing(fd, data)

    monkeypatch.setattr(os, "write", write)
    yield nothing


def test_a_key_file_on_a_file_taking_nothing_is_an_error(
    tmp_path: Path, takes_nothing: TakesNothing
) -> None:
    out = tmp_path / "k.key"
    with pytest.raises(ConfigError, match=re.escape(NO_PROGRESS)):
        write_key_files([KeyFile(out, b"00" * 32, SECRET_MODE)], force=False)
    assert takes_nothing.calls == 3
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


def test_a_signed_document_on_a_file_taking_nothing_is_left_as_it_was(
    tmp_path: Path, takes_nothing: TakesNothing
) -> None:
    doc = tmp_path / "a.json"
    doc.write_text('{"webUrl": "https://n.test/a/"}\n')
    result = rewrite_file(doc, lambda document: "v2.k.AAAA.BBBB")
    assert len(result.errors) == 1
    assert NO_PROGRESS in result.errors[0]
    assert doc.read_text() == '{"webUrl": "https://n.test/a/"}\n'
    assert list(tmp_path.iterdir()) == [doc]


@pytest.fixture
def whole_takes_nothing(monkeypatch: pytest.MonkeyPatch) -> Iterator[TakesNothing]:
    """Every WholeWrites (the text files opened by whole_text) takes nothing."""
    nothing = TakesNothing()  # open()'s BufferedWriter retried for ever
    monkeypatch.setattr(WholeWrites, "_write_once", nothing)
    yield nothing


def test_a_report_file_taking_nothing_is_an_error_naming_it(
    tmp_path: Path, whole_takes_nothing: TakesNothing
) -> None:
    doc = tmp_path / "a.json"
    doc.write_text('{"webUrl": "https://n.test/a/"}\n')
    out = tmp_path / "report.json"
    done = CliRunner().invoke(cli, ["check", str(doc), "--offline", "-o", str(out)])
    assert done.exit_code == 2, done.output
    assert f"Error: {out}: cannot write the report ({NO_PROGRESS})" in done.output
    assert whole_takes_nothing.calls == 9  # three tries for the write, and for each flush on close


def test_grafana_files_taking_nothing_are_an_error(
    tmp_path: Path, whole_takes_nothing: TakesNothing
) -> None:
    with pytest.raises(OSError, match=re.escape(NO_PROGRESS)):
        export.write(tmp_path / "g")
    assert whole_takes_nothing.calls == 3
    assert [p for p in (tmp_path / "g").rglob("*") if p.is_file()] == []  # no temporary left
