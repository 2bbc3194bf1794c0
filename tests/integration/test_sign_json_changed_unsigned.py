"""`sign --in-place` of a streamed `.json` list that changes while it is read and
holds no record to sign: the change is said, as `check` says it.

The streamed path kept the reader's "changed while it was read" only as a
refusal of the rewrite, which a file with no valid record never reached: it
said the invalid documents of a torn read (312,500 of a list truncated under
it) and nothing of the change."""

from __future__ import annotations

from pathlib import Path

from monitor.corpus.article import InvalidDocument
from monitor.secured.inplace import rewrite_file


def test_a_list_with_no_record_that_changes_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[" + ",\n".join(['{"title": "no webUrl"}'] * 40_000) + "]\n")  # ~1 MB
    said: list[InvalidDocument] = []

    def report(item: InvalidDocument) -> None:
        if not said:  # the first window read: the file is cut under the reader
            with path.open("r+b") as fh:
                fh.truncate(100_000)
        said.append(item)

    def sign_one(doc: object) -> str:
        raise AssertionError("no record to sign")

    result = rewrite_file(path, sign_one, report=report)
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert said and all("missing required field webUrl" in i.error for i in said)
    assert path.stat().st_size == 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["bad.json"]  # no temporary file left
