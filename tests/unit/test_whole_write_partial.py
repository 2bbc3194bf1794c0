"""A write that fails after part of its bytes went out (a disk that fills in the
middle of a write, then has room again; a log file on it) under a BufferedWriter:
the part written is counted, so it is not written a second time.

WholeWrites raised the error and the BufferedWriter, told nothing of the part
written, kept its whole buffer and wrote it again at the next flush: the head
of a log record twice. Unbuffered (Python's -u), the text layer ignores counts,
so the error is still raised there: a report cut short must not look whole."""

from __future__ import annotations

import contextlib
import errno
import io
from pathlib import Path

import pytest

from monitor.whole_write import WholeWrites, whole_text


@pytest.fixture
def fills_then_frees(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file takes 10 bytes, then is full for two writes, then takes everything."""
    real = WholeWrites._write_once
    calls: list[int] = []

    def once(self: WholeWrites, view: memoryview) -> int | None:
        calls.append(len(view))
        if len(calls) == 1:
            return real(self, view[:10])
        if len(calls) in (2, 3):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, view)

    monkeypatch.setattr(WholeWrites, "_write_once", once)
    return calls


def test_a_buffered_stream_writes_the_part_written_once(
    tmp_path: Path, fills_then_frees: list[int]
) -> None:
    out = tmp_path / "log"
    stream = whole_text(out, line_buffering=True)
    with pytest.raises(OSError) as caught:
        stream.write("a" * 50 + "\n")
    assert caught.value.errno == errno.ENOSPC
    with contextlib.suppress(OSError):  # room again (or full once more for the old writer)
        stream.write("b\n")
    stream.close()
    assert out.read_text() == "a" * 50 + "\nb\n"


def test_an_unbuffered_stream_still_raises_after_part_of_a_write(
    tmp_path: Path, fills_then_frees: list[int]
) -> None:
    out = tmp_path / "report"
    raw = WholeWrites(str(out), "w")
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with pytest.raises(OSError):
        stream.write("a" * 50)
    assert raw.failed is not None and raw.failed.errno == errno.ENOSPC
    stream.close()
