"""`sign --in-place` reads a file as `check`, `verify` and the daemon read it: the
same records valid, the same ones invalid, at the same lines. A NUL byte makes
a file binary data to the corpus reader, refused whole; the rewrite decoded it
as text and signed its other documents, in a file that `verify` then still
refused. A second BOM (dropped by the corpus reader, kept by the rewrite's
reading) moved its records' lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.corpus import load_file
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.inplace import rewrite_file

BOM = b"\xef\xbb\xbf"
CASES = {
    "nul.yaml": (
        b"---\nwebUrl: https://a.test/1\n---\nwebUrl: https://a.test/2\n"
        b'title: "a\x00b"\n---\nwebUrl: https://a.test/3\n'
    ),
    "nul.md": b"---\nwebUrl: https://a.test/1\ntitle: a\x00b\n---\nbody\n",
    "nul.json": b'[{"webUrl": "https://a.test/1"}, {"webUrl": "https://a.test/2\x00"}]',
    "nul-late.yaml": b"webUrl: https://a.test/1\n---\nwebUrl: https://a.test/2\n\x00",
    "two-boms.yaml": BOM * 2 + b"t: a\xc2\x85b\n---\nwebUrl: https://a.test/1\n",
    "two-boms.md": BOM * 2 + b"---\nwebUrl: https://a.test/1\nt: a\xc2\x85b: c\n---\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sign_in_place_reads_the_records_check_reads(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(CASES[name])
    read = list(load_file(path))
    result = rewrite_file(path, lambda doc: "S")
    assert [(i.line, i.error) for i in result.invalid] == [
        (i.line, i.error) for i in read if isinstance(i, InvalidDocument)
    ]
    assert result.signed == sum(isinstance(i, Document) for i in read)
    if b"\x00" in CASES[name]:
        assert path.read_bytes() == CASES[name]  # refused whole, as check refuses it
