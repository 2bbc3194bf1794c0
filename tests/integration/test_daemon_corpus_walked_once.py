"""At a start on an empty database the corpus files' size was walked twice: by
the spawn decision before the daemon's imports (prestart.prestart) and again by
checker_choice.checker_for. The second takes the first's answer; it walks again only
when the paths changed since (a reload) or nothing was walked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.settings import settings

from monitor.check import prestart as check_prestart
from monitor.daemon import checker_choice, prestart
from monitor.http import Checker


class EmptyStore:
    dialect = "sqlite"

    def active_targets(self) -> int:
        return 0


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    seen: list[tuple[str, ...]] = []
    real = check_prestart.corpus_bytes

    def counted(paths: Any, enough: int) -> int:
        seen.append(tuple(map(str, paths)))
        return real(paths, enough)

    monkeypatch.setattr(prestart, "corpus_bytes", counted)
    monkeypatch.setattr(checker_choice, "corpus_bytes", counted)
    return seen


async def test_an_empty_database_start_walks_the_corpus_once(
    tmp_path: Path, walks: list[tuple[str, ...]]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"webUrl": "http://a.example/"}\n')
    s = settings(paths=[corpus], data_dir=tmp_path / "data")
    early = prestart.prestart(s)
    checker = await checker_choice.checker_for(s, EmptyStore(), early)  # type: ignore[arg-type]
    assert isinstance(checker, Checker)
    assert walks == [(str(corpus),)]


async def test_other_paths_since_are_walked_again(
    tmp_path: Path, walks: list[tuple[str, ...]]
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    early = prestart.prestart(settings(paths=[first], data_dir=tmp_path / "data"))
    reloaded = settings(paths=[second], data_dir=tmp_path / "data")
    await checker_choice.checker_for(reloaded, EmptyStore(), early)  # type: ignore[arg-type]
    assert walks == [(str(first),), (str(second),)]
