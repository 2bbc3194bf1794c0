"""A folder given to be walked that disappears between being seen as a folder and
being listed (an unmount, a deploy swapping it) is Unreadable, never an empty
corpus (session 6): `check` printed "0 articles" and exited 0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.corpus import files, iter_documents
from monitor.corpus.article import InvalidDocument


def _corpus(tmp_path: Path) -> Path:
    """A folder of one record and one (empty) subfolder."""
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.json").write_text('{"webUrl": "https://e.test/a"}')
    return root


def test_a_root_gone_before_its_listing_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _corpus(tmp_path)
    listing = files._listing

    def gone_first(top: Path, links_only: bool = False) -> tuple[list[str], list[str]]:
        if top == root:
            shutil.rmtree(root)
        return listing(top, links_only)

    monkeypatch.setattr(files, "_listing", gone_first)
    found = list(files.iter_files([root]))
    assert [type(f).__name__ for f in found] == ["Unreadable"]
    [item] = iter_documents([root])
    assert isinstance(item, InvalidDocument) and "no such file or directory" in item.error


def test_a_subfolder_gone_before_its_listing_is_just_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _corpus(tmp_path)
    listing = files._listing

    def sub_gone(top: Path, links_only: bool = False) -> tuple[list[str], list[str]]:
        if top.name == "sub":
            shutil.rmtree(top)
        return listing(top, links_only)

    monkeypatch.setattr(files, "_listing", sub_gone)
    assert list(files.iter_files([root])) == [root / "a.json"]
