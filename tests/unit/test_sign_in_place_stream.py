"""`sign --in-place` of a `.json` list, streamed (monitor.secured.inplace.json_tap), held to
the whole-file path it replaced: for any list, the same bytes out, the same records
signed (asked in the same order), the same invalid documents and the same refusals.
The whole-file path is still the one for a file that is one article object."""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import monitor.corpus as corpus
import monitor.secured.inplace.files as inplace_files
from monitor.corpus import files, json_stream
from monitor.corpus.json_stream import parse_json
from monitor.secured.inplace import FileResult, Signable, dispatch, rewrite_file

CAP = 600  # characters: a record cap small enough to cross in a test

_SPACES = st.sampled_from(["", " ", "\n", "\r\n", "\n  ", "\t", " \r\n "])


@st.composite
def _article(draw: st.DrawFn) -> str:
    """One element's text: a valid article, in some layout, or an invalid one of a
    kind the reader names."""
    n = draw(st.integers(0, 5))  # few URLs: equal articles come up
    raw: dict[str, Any] = {"webUrl": f"https://a.example/{n}"}
    if draw(st.booleans()):
        raw["title"] = draw(st.text(max_size=8))
    if draw(st.booleans()):
        raw["secured"] = draw(st.sampled_from(["old", "", "v2.k.x"]))
    if draw(st.booleans()):
        raw["nosign"] = True  # sign_one says no
    kind = draw(
        st.sampled_from(
            ["valid"] * 6
            + ["scalar", "list", "no-url", "dup", "dup-secured", "nan", "deep", "big", "url-type"]
        )
    )
    indent = draw(st.sampled_from([None, None, 1, 2, "\t"]))
    text = json.dumps(raw, indent=indent, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if kind == "scalar":
        return draw(st.sampled_from(["1", '"x"', "null", "true"]))
    if kind == "list":
        return f"[{text}]"
    if kind == "no-url":
        return text.replace('"webUrl"', '"webURL"')
    if kind == "dup":
        return text[:-1] + ', "webUrl": "https://a.example/9"}'
    if kind == "dup-secured":
        return text[:-1] + ', "secured": "a", "secured": "b"}'
    if kind == "nan":
        return text[:-1] + ', "n": NaN}'
    if kind == "deep":
        return text[:-1] + ', "d": ' + "[" * 300 + "]" * 300 + "}"
    if kind == "big":
        return text[:-1] + ', "pad": "' + "p" * CAP + '"}'
    if kind == "url-type":
        return text.replace('"https://a.example/', '["https://a.example/').replace('"}', '"]}', 1)
    if draw(st.integers(0, 9)) == 0:  # signed, it would cross the cap
        return text[:-1] + ', "pad": "' + "p" * (CAP - len(text) - 20) + '"}'
    return text


@st.composite
def _document(draw: st.DrawFn) -> str:
    items = draw(st.lists(_article(), max_size=6))
    sep = [draw(_SPACES) + "," + draw(_SPACES) for _ in items]
    body = "".join((sep[k] if k else "") + item for k, item in enumerate(items))
    listed = "[" + draw(_SPACES) + body + draw(_SPACES) + "]"
    shape = draw(
        st.sampled_from(
            ["list", "list", "news", "articles", "both", "extra", "article", "twice", "deep"]
        )
    )
    if shape == "news":
        listed = f'{{"id": 1,{draw(_SPACES)}"news": {listed}, "tail": [1]}}'
    elif shape == "articles":
        listed = f'{{"articles": {listed}{draw(_SPACES)}}}'
    elif shape == "both":
        listed = f'{{"news": {listed}, "articles": [{{"webUrl": "https://b.example/"}}]}}'
    elif shape == "article":  # an article with a list of articles: invalid, its list read
        listed = f'{{"webUrl": "https://c.example/", "news": {listed}}}'
    elif shape == "twice":  # a repeated wrapper key: only the first copy's list is read
        listed = f'{{"news": {listed},{draw(_SPACES)}"news": {listed}}}'
    elif shape == "deep":  # a wrapper's own member nested too deeply: the wrapper is invalid
        listed = f'{{"meta": {"[" * 300}{"]" * 300}, "news": {listed}}}'
    elif shape == "extra":
        listed += draw(st.sampled_from([" {}", "\n[1]", " x"]))
    text = draw(st.sampled_from(["", "\ufeff", "\ufeff\ufeff"])) + listed + draw(_SPACES)
    if draw(st.integers(0, 7)) == 0:  # line ends of CR alone
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    if draw(st.integers(0, 7)) == 0:  # cut short: a syntax error where it stops
        text = text[: draw(st.integers(1, max(1, len(text) - 1)))]
    return text


def _signer(calls: list[tuple[int, str]]) -> Callable[[Signable], str | None]:
    def sign_one(doc: Signable) -> str | None:
        calls.append((doc.line, doc.raw["webUrl"]))
        return None if doc.raw.get("nosign") else f"v2.k.{len(calls)}"

    return sign_one


def _run(path: Path, whole: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    calls: list[tuple[int, str]] = []
    with monkeypatch.context() as patch:
        if whole:
            patch.setattr(dispatch, "rewrite_json_stream", lambda *_args: False)
        result: FileResult = rewrite_file(path, _signer(calls))
    errors = [e.replace(str(path), "F") for e in result.errors]
    invalid = [(i.line, i.error) for i in result.invalid]
    return path.read_bytes(), result.signed, errors, invalid, calls


def _offsetless(run: tuple[Any, ...]) -> tuple[Any, ...]:
    errors = [re.sub(r"invalid JSON at offset \d+", "invalid JSON", e) for e in run[2]]
    return (*run[:2], errors, *run[3:])


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_YAML_BYTES", CAP)
    monkeypatch.setattr(corpus, "parse_json", functools.partial(parse_json, cap=CAP))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_document(), chunk=st.sampled_from([json_stream.CHUNK, 7, 64, 300]))
def test_a_streamed_list_is_signed_as_the_whole_file_path_signs_it(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    small_cap: None,
    text: str,
    chunk: int,
) -> None:
    """Small chunks move the window (and the splice's writes) inside the elements."""
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    folder = tmp_path_factory.mktemp("d")
    data = text.encode("utf-8", "surrogatepass")
    streamed, whole = folder / "s.json", folder / "w.json"
    streamed.write_bytes(data)
    whole.write_bytes(data)
    new = _run(streamed, False, monkeypatch)
    try:
        old = _run(whole, True, monkeypatch)
    except IndexError:  # the whole-file rewrite of a list cut after a ',': a traceback
        assert new[0] == data and new[1] == 0 and new[2], new
        event("the whole-file path: IndexError")
        return
    if chunk < len(data) and ("[" * 300 in text or "p" * CAP in text):
        # a syntax error inside an element skipped unread (too deep, over the cap) once
        # the window has moved past its start: the offset named is the element's own
        new, old = _offsetless(new), _offsetless(old)
    assert new == old
    event(f"signed: {bool(new[1])}, refused: {bool(new[2])}, invalid: {bool(new[3])}")


@pytest.mark.parametrize("chunk", [json_stream.CHUNK, 64])
def test_a_list_edited_while_it_is_signed_keeps_the_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The new file is written as the list is read: an author's save that lands
    meanwhile (in the window, or after the walk) is never overwritten."""
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    path = tmp_path / "list.json"
    articles = [{"webUrl": f"https://a.example/{n}", "title": "t" * 40} for n in range(20)]
    path.write_text(json.dumps(articles, indent=1))
    edited = path.read_text().replace('"t', '"T') + "\n"

    def sign_one(doc: Signable) -> str:
        path.write_text(edited)  # the author saves meanwhile
        return "v2.k.new"

    result = rewrite_file(path, sign_one)
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert path.read_text() == edited
    assert [p.name for p in tmp_path.iterdir()] == ["list.json"]  # no temporary file left


def test_a_list_in_a_folder_it_cannot_write_in_is_refused_after_its_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file is made before the list is read; when it cannot be, the
    records are still read and asked for (as the whole-file path asked), and the
    file is refused only if one was signed."""

    def refuse(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(inplace_files, "_UNNAMED", 0)  # a named temporary file, as mkstemp makes
    path = tmp_path / "list.json"
    text = '[{"webUrl": "https://a.example/1"},\n{"webUrl": "https://a.example/2"}, 3]'
    path.write_text(text)
    calls: list[tuple[int, str]] = []
    result = rewrite_file(path, _signer(calls))
    assert calls == [(1, "https://a.example/1"), (2, "https://a.example/2")]
    assert [i.line for i in result.invalid] == [2]
    (error,) = result.errors
    assert "cannot write in its folder" in error and error.endswith("left unchanged"), error
    assert path.read_text() == text
    unsigned = lambda doc: None  # noqa: E731
    assert rewrite_file(path, unsigned).errors == []  # none signed: nothing to refuse
