"""`sign --in-place` of JSON Lines, streamed (read, signed and written a line at a
time), held to the whole-text rewrite it replaced (tests/support/jsonl_whole_text.py):
for any file, the same bytes out, the same records signed (asked in the same order),
the same invalid documents, notes and refusals. And what only a stream can meet: a
file changed between its two reads is refused as changed."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support.jsonl_whole_text import rewrite_lines_whole

from monitor.corpus import files
from monitor.corpus.article import InvalidDocument
from monitor.secured.inplace import FileResult, Signable, rewrite_file

CAP = 240  # bytes: a line cap small enough to cross in a test
BOM = "\ufeff"


def _value(raw: dict[str, Any]) -> str | None:
    """A signature that tells the records apart; None (cannot sign) for some."""
    if "nosign" in raw:
        return None
    url = str(raw.get("webUrl"))
    return "v2.k." + hashlib.sha256(url.encode()).hexdigest()[: 40 if "long" in raw else 10]


def _padded(raw: dict[str, Any], size: int) -> str:
    """`raw` as JSON of `size` bytes (a "pad" member makes up the rest)."""
    text = json.dumps({**raw, "pad": ""}, ensure_ascii=False)
    return text.replace('"pad": ""', '"pad": "' + "p" * (size - len(text.encode())) + '"')


_SIGNED = "https://a.example/same"
PIECES = [
    json.dumps({"webUrl": "https://a.example/1", "title": "One"}),
    json.dumps({"webUrl": "https://a.example/2", "title": "Twö 🙂", "n": 1.5}, ensure_ascii=False),
    json.dumps({"webUrl": "https://a.example/3", "secured": "v2.old"}),
    json.dumps({"webUrl": _SIGNED, "secured": _value({"webUrl": _SIGNED})}),  # signed already
    json.dumps({"webUrl": "https://a.example/4", "nosign": True}),
    '{"webUrl": "https://a.example/5", "webUrl": "https://a.example/6"}',  # duplicate key
    '{ "webUrl" : "https://a.example/7" ,"title":"x" }  ',
    '{"title": "no webUrl"}',
    "[1, 2]",
    "not json",
    "",
    "   ",
    "{",
    "x\ry",
    "\r",
    _padded({"webUrl": "https://a.example/8"}, CAP - 1),
    _padded({"webUrl": "https://a.example/9"}, CAP + 1),  # over the cap: invalid
    _padded({"webUrl": "https://a.example/10", "long": 1}, CAP - 30),  # signed: over it
]
_line = st.builds(
    lambda marks, body, end: BOM * marks + body + end,
    st.integers(0, 3),
    st.sampled_from(PIECES),
    st.sampled_from(["\n", "\r\n", "\r\r\n", "\r", "\n"]),
)
TEXTS = st.builds(
    lambda lines, last: "".join(lines) + last,
    st.lists(_line, max_size=8),
    st.sampled_from(["", PIECES[0], BOM + BOM + PIECES[1], "\r", PIECES[16], PIECES[5]]),
)


def _signer(calls: list[tuple[int, str]]) -> Callable[[Signable], str | None]:
    def sign_one(doc: Signable) -> str | None:
        calls.append((doc.line, json.dumps(doc.raw, sort_keys=True)))
        return _value(doc.raw)

    return sign_one


def _run(
    path: Path, data: bytes, mode: int, force: bool, whole: bool
) -> tuple[bytes, int, FileResult, list[tuple[int, str]], list[str]]:
    path.write_bytes(data)
    os.chmod(path, mode)
    calls: list[tuple[int, str]] = []
    sign = _signer(calls)
    result = (
        rewrite_lines_whole(path, sign, force=force)
        if whole
        else rewrite_file(path, sign, force=force)
    )
    after = path.read_bytes(), os.stat(path).st_mode
    os.chmod(path, 0o644)
    path.unlink()
    return after[0], after[1], result, calls, sorted(os.listdir(path.parent))


@settings(max_examples=500, deadline=None)
@given(text=TEXTS, mode=st.sampled_from([0o644, 0o444]), force=st.booleans())
def test_a_streamed_file_is_signed_as_the_whole_text_rewrite_signs_it(
    text: str, mode: int, force: bool
) -> None:
    data = text.encode("utf-8")
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(files, "MAX_LINE_BYTES", CAP)
        path = Path(folder) / "s.jsonl"
        old = _run(path, data, mode, force, whole=True)
        new = _run(path, data, mode, force, whole=False)
    assert new == old
    result = new[2]
    event(f"signed: {bool(result.signed)}, refused: {bool(result.errors)}")
    event(f"invalid: {bool(result.invalid)}, rewritten: {new[0] != data}")


def test_a_line_over_the_cap_is_copied_through_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines far over the cap (and over the pieces it is copied in) come out as they were."""
    monkeypatch.setattr(files, "MAX_LINE_BYTES", CAP)
    path = tmp_path / "long.jsonl"
    long = _padded({"webUrl": "https://a.example/1"}, 3 * (1 << 20) + 7)
    text = long + "\n" + PIECES[0] + "\n" + long
    path.write_text(text, encoding="utf-8")
    calls: list[tuple[int, str]] = []
    result = rewrite_file(path, _signer(calls))
    assert [(i.line, i.error) for i in result.invalid] == [
        (1, files.line_over_limit()),
        (3, files.line_over_limit()),
    ]
    assert result.signed == 1 and [n for n, _ in calls] == [2]
    signed = json.dumps(
        {**json.loads(PIECES[0]), "secured": _value(json.loads(PIECES[0]))}, ensure_ascii=False
    )
    assert path.read_text(encoding="utf-8") == long + "\n" + signed + "\n" + long


def test_invalid_documents_are_said_as_they_are_read(tmp_path: Path) -> None:
    """Not held to the end of the file: a file of millions of bad lines held them all."""
    path = tmp_path / "mixed.jsonl"
    path.write_text("[1]\n" + PIECES[0] + "\nnot json\n" + PIECES[1] + "\n", encoding="utf-8")
    said: list[InvalidDocument] = []
    seen: list[list[int | None]] = []

    def sign_one(doc: Signable) -> str | None:
        seen.append([i.line for i in said])
        return _value(doc.raw)

    result = rewrite_file(path, sign_one, report=said.append)
    assert seen == [[1], [1, 3]]
    assert result.invalid == [] and [i.line for i in said] == [1, 3] and result.signed == 2


def _refused_as_changed(result: FileResult, path: Path, saved: str) -> None:
    """Nothing signed, the change said, the save kept, no file left beside it."""
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert path.read_text(encoding="utf-8") == saved
    assert os.listdir(path.parent) == [path.name]


def test_a_file_saved_again_while_it_is_signed_keeps_the_save(tmp_path: Path) -> None:
    """An author's save of the same size, its time put back (a sync tool, a restore),
    lands between the two reads (past what the second has read yet): the file's status
    says nothing, its bytes do. The whole-text rewrite wrote its old text, signed, over
    the save."""
    path = tmp_path / "saved.jsonl"
    text = PIECES[0] + "\n" + (PIECES[1] + "\n") * 2000 + PIECES[6] + "\n"
    path.write_text(text, encoding="utf-8")
    saved = text.replace('"x"', '"y"')
    times = os.stat(path)

    def sign_one(doc: Signable) -> str | None:
        path.write_text(saved, encoding="utf-8")
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        return _value(doc.raw)

    _refused_as_changed(rewrite_file(path, sign_one), path, saved)


def test_a_file_that_grows_while_it_is_signed_is_refused_as_changed(tmp_path: Path) -> None:
    path = tmp_path / "grows.jsonl"
    path.write_text(PIECES[0] + "\n" + PIECES[1] + "\n", encoding="utf-8")

    def sign_one(doc: Signable) -> str | None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(PIECES[6] + "\n")
        return _value(doc.raw)

    result = rewrite_file(path, sign_one)
    assert (result.signed, result.folder) == (0, None)
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert os.listdir(tmp_path) == ["grows.jsonl"]


def test_a_save_of_lines_already_read_with_its_time_put_back_is_refused(tmp_path: Path) -> None:
    """The save lands in what the second read has passed already: its bytes no longer
    say it, its size and time are put back; its change time (ctime) cannot be. The
    rewrite wrote the old first line, signed, over the save."""
    path = tmp_path / "saved.jsonl"
    text = PIECES[6] + "\n" + PIECES[0] + "\n"
    path.write_text(text, encoding="utf-8")
    saved = text.replace('"x"', '"y"')
    times = os.stat(path)

    def sign_one(doc: Signable) -> str | None:
        if doc.line == 2:
            path.write_text(saved, encoding="utf-8")
            os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        return _value(doc.raw)

    _refused_as_changed(rewrite_file(path, sign_one), path, saved)
