"""`sign --in-place` of a `.json` list rests on the reader's walk keeping two rules:
a list element is yielded before the window moves past its text (so each edit
lies in text not yet written), and a top-level article object never follows
list elements. Were one broken, the file is refused and left as it was (exit 1,
the file named), never a traceback (exit 70) nor, with `python -O`, a file
written with an edit in the wrong place. The reader keeps both rules, so the
break is injected into its tap (`TapCursor.element`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.secured.inplace import json_tap
from monitor.secured.inplace.result import Refused

# two equal records, each already signed: each edit replaces a value (not an insertion)
LIST = (
    '[{"webUrl": "https://a.example/1", "secured": "old"},\n'
    ' {"webUrl": "https://a.example/1", "secured": "old"}]\n'
)


def _sign(tmp_path: Path, path: Path) -> tuple[int, str]:
    key = tmp_path / "publisher.key"
    made = CliRunner().invoke(cli, ["keygen", "--type", "aes256", "--out", str(key)])
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(
        cli, ["sign", str(path), "--key-file", str(key), "--in-place"], catch_exceptions=False
    )
    return result.exit_code, result.stderr


def _element(
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[[int, tuple[int, str] | None], tuple[int, str] | None],
) -> None:
    real = json_tap.TapCursor.element
    calls = 0

    def element(self: json_tap.TapCursor) -> tuple[int, str] | None:
        nonlocal calls
        calls += 1
        return fault(calls, real(self))

    monkeypatch.setattr(json_tap.TapCursor, "element", element)


def test_an_edit_outside_the_text_passed_refuses_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first: list[tuple[int, str] | None] = []

    def same_place(call: int, found: tuple[int, str] | None) -> tuple[int, str] | None:
        first.append(found)
        return first[0]  # the second element said to be where the first one is

    _element(monkeypatch, same_place)
    path = tmp_path / "list.json"
    path.write_text(LIST)
    code, stderr = _sign(tmp_path, path)
    assert code == 1, stderr
    assert f"{path}: cannot rewrite: an edit fell outside the text read" in stderr, stderr
    assert stderr.rstrip().endswith("left unchanged"), stderr
    assert path.read_text() == LIST
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.json", "publisher.key"]


def test_an_article_object_after_list_elements_refuses_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _element(monkeypatch, lambda call, found: found if call == 1 else None)
    path = tmp_path / "list.json"
    path.write_text(LIST)
    code, stderr = _sign(tmp_path, path)
    assert code == 1, stderr
    assert f"{path}: cannot rewrite: an article object came after list elements" in stderr
    assert stderr.rstrip().endswith("left unchanged"), stderr
    assert path.read_text() == LIST
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.json", "publisher.key"]


def test_the_splice_refuses_an_edit_past_the_cursor() -> None:
    written: list[str] = []
    splice = json_tap.Splice(written.append)
    cursor = splice.cursor_for('[{"a": 1}, {"a": 2}]', None, 100)
    cursor.move(10)  # past the first element only
    splice.edits.append((2, 14, '"b": 3'))  # from the first into the second
    with pytest.raises(Refused, match="an edit fell outside the text read"):
        splice.flush()
    assert written == []


def test_the_splice_refuses_an_edit_left_past_the_end() -> None:
    """An edit that starts past all of the text was never applied: the file would
    be written without it while its record counted as signed."""
    written: list[str] = []
    splice = json_tap.Splice(written.append)
    splice.cursor_for('[{"a": 1}]', None, 100)
    splice.edits.append((40, 44, '"b": 3'))
    with pytest.raises(Refused, match="an edit fell outside the text read"):
        splice.finish()
