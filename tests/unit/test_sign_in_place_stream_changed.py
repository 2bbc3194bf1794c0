"""`sign --in-place` of a streamed `.json` list whose bytes change after the walk
stopped reading them (data after the list): said as a change, never a traceback.

Refusing a record that signing would make invalid reads the chunks the walk left
(do its lines end in CR alone?), and those chunks say when the file grew: that
DecodeError went up uncaught."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.corpus import files
from monitor.secured.inplace import Signable, rewrite_file

CAP = 600


def test_a_file_that_grows_after_the_walk_stops_is_refused_as_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_YAML_BYTES", CAP)
    path = tmp_path / "cr.json"
    element = '{"webUrl": "https://a.example/1", "pad": "' + "p" * 540 + '"}'  # signed: over CAP
    path.write_bytes(f"[\r{element}\r]\r".encode() + b"x" * 1_000_000)  # CR alone; data after

    def sign_one(doc: Signable) -> str:
        with path.open("ab") as fh:  # an author's save lands while it is signed
            fh.write(b"more")
        return "S" * 40

    result = rewrite_file(path, sign_one)
    assert result.signed == 0
    assert result.errors == [
        f"{path}: changed while it was being signed; run sign again; left unchanged"
    ]
    assert path.read_bytes().endswith(b"xmore")
    assert [p.name for p in tmp_path.iterdir()] == ["cr.json"]  # no temporary file left
