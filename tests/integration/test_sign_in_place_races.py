"""`sign --in-place` against a file that changes under it: the change is never overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

from monitor.corpus import load_file
from monitor.corpus.article import Document
from monitor.secured.inplace import rewrite_file

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "articles" / "003_bbc_suez_canal.txt"
VALUE = "v2.k.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"


def test_a_file_edited_while_it_is_signed_keeps_the_edit(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    shutil.copyfile(STORY, path)
    items = list(load_file(path))
    edited = path.read_text(encoding="utf-8").replace("refloated", "REFLOATED") + "\n"

    def sign_one(doc: Document) -> str:
        path.write_text(edited, encoding="utf-8")  # the author saves meanwhile
        return VALUE

    result = rewrite_file(path, items, sign_one)
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert path.read_text(encoding="utf-8") == edited
    assert [p.name for p in tmp_path.iterdir()] == ["story.txt"]  # no temporary file left


def test_a_file_edited_between_the_walk_and_the_rewrite_is_not_signed_silently(
    tmp_path: Path,
) -> None:
    path = tmp_path / "story.txt"
    shutil.copyfile(STORY, path)
    items = list(load_file(path))
    edited = path.read_text(encoding="utf-8").replace("refloated", "REFLOATED")
    path.write_text(edited, encoding="utf-8")
    calls: list[Document] = []

    result = rewrite_file(path, items, lambda doc: calls.append(doc) or VALUE)
    assert result.signed == 0 and not calls
    assert result.errors == [
        f"{path}: changed since it was first read; run sign again; left unchanged"
    ]
    assert path.read_text(encoding="utf-8") == edited
