"""write_all: every byte written, and a descriptor that keeps taking nothing (a
broken FUSE file or driver; a real descriptor cannot be made to do it, so the
write is faked) fails with EIO instead of spinning for ever."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from support.writes import TakesNothing

from monitor.cli.streams import WholeWrites
from monitor.whole_write import NO_PROGRESS_LIMIT, write_all


def test_short_writes_are_continued_until_every_byte_is_written() -> None:
    got = bytearray()

    def two_at_a_time(view: memoryview) -> int:
        got.extend(view[:2])
        return min(2, len(view))

    assert write_all(two_at_a_time, b"abcdefg", 1) == 7
    assert got == b"abcdefg"


def test_a_descriptor_taking_nothing_fails_after_a_few_tries() -> None:
    nothing = TakesNothing()
    with pytest.raises(OSError) as caught:
        write_all(nothing, b"report", 1)
    assert caught.value.errno == errno.EIO
    assert nothing.calls == NO_PROGRESS_LIMIT


def test_some_progress_between_zero_writes_is_not_a_failure() -> None:
    answers = iter([0, 0, 2, 0, 0, 2, 0, 0, 2])
    assert write_all(lambda view: next(answers), b"abcdef", 1) == 6


def test_a_standard_stream_taking_nothing_fails_and_keeps_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        raw = WholeWrites(fd, "w", closefd=False)
        nothing = TakesNothing()
        monkeypatch.setattr(raw, "_write_once", nothing)
        with pytest.raises(OSError) as caught:
            raw.write(b"a line\n")
        assert raw.failed is caught.value  # said as standard output's (failed_stdout)
        assert caught.value.errno == errno.EIO
        assert nothing.calls == NO_PROGRESS_LIMIT
    finally:
        os.close(fd)


def test_a_checker_process_log_to_a_file_taking_nothing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's stderr (logs_out) is over WholeWrites too: a BufferedWriter over
    a plain FileIO retries a write that took nothing for ever."""
    import sys

    from monitor.check.worker import logs_out

    nothing = TakesNothing()
    with open(tmp_path / "err", "w") as err:
        monkeypatch.setattr(sys, "stderr", err)
        logs = logs_out()
        monkeypatch.setattr(WholeWrites, "_write_once", nothing)
        with pytest.raises(OSError) as caught:
            logs.write("a log record\n")  # line-buffered: written at the line's end
        assert caught.value.errno == errno.EIO
        assert nothing.calls == NO_PROGRESS_LIMIT
        monkeypatch.undo()
        logs.flush()  # the record kept in the buffer, written while the file is open
    assert (tmp_path / "err").read_text() == "a log record\n"
