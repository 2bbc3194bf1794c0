"""`sign --in-place` against a file that changes under it: the change is never overwritten.

The records are parsed from the bytes that are rewritten, so the window is
between the read and the rename: the signer callback is where an author's
save lands in it, deterministically.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from monitor.corpus.article import Document
from monitor.secured.inplace import rewrite_file

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "articles" / "003_bbc_suez_canal.txt"
VALUE = "v2.k.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"


def test_a_file_edited_while_it_is_signed_keeps_the_edit(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    shutil.copyfile(STORY, path)
    edited = path.read_text(encoding="utf-8").replace("refloated", "REFLOATED") + "\n"

    def sign_one(doc: Document) -> str:
        path.write_text(edited, encoding="utf-8")  # the author saves meanwhile
        return VALUE

    result = rewrite_file(path, sign_one)
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert path.read_text(encoding="utf-8") == edited
    assert [p.name for p in tmp_path.iterdir()] == ["story.txt"]  # no temporary file left
