"""The JUnit writer keeps its articles' suites in a temporary file until the head,
which counts them all, is written; with no usable temporary file it keeps them
in memory, says so once, and writes the same report."""

from __future__ import annotations

import io
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.check.report import ArticleEntry, JunitWriter, Tally, TargetRow
from monitor.corpus.article import InvalidDocument
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Kind, Origin, Outcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _report(articles: int, *, incomplete: bool) -> str:
    out = io.StringIO()
    writer = JunitWriter(out)
    writer.begin([InvalidDocument("b.json", 3, "invalid JSON")])
    for n in range(articles):
        url = f"https://h.example/{n}\ud800"  # a lone surrogate: spelled out, never raw
        entry = ArticleEntry(f"{n:016x}", "a.jsonl", n + 1, url, None, [], [])
        outcome = Outcome.NOT_FOUND if n % 3 == 0 else Outcome.OK
        result = CheckResult(url, Kind.WEB, outcome, NOW, http_status=404 if n % 3 == 0 else 200)
        row = TargetRow(url, TargetRef(entry.id, Kind.WEB, Origin.ARTICLE), result, [])
        writer.article(entry, [row])
    writer.finish(Tally(incomplete=incomplete), 0.25)
    return out.getvalue()


def _suites(text: str) -> tuple[dict[str, Any], list[ET.Element]]:
    root = ET.fromstring(text.encode())
    return dict(root.attrib), list(root)


@pytest.mark.parametrize("incomplete", [False, True])
def test_the_head_counts_every_suite_and_the_order_is_kept(incomplete: bool) -> None:
    head, suites = _suites(_report(1200, incomplete=incomplete))
    names = [s.get("name") for s in suites]
    first = ["run"] if incomplete else []
    assert names == [*first, "invalid documents", *(f"a.jsonl:{n}" for n in range(1, 1201))]
    assert int(head["tests"]) == sum(int(s.get("tests", "0")) for s in suites)
    assert int(head["failures"]) == sum(int(s.get("failures", "0")) for s in suites)
    assert int(head["failures"]) == 1 + (1 if incomplete else 0) + 400  # every third is down


def test_without_a_temporary_file_the_suites_stay_in_memory_and_it_is_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    on_disk = _report(50, incomplete=True)
    capsys.readouterr()

    def no_room(*args: object, **kwargs: object) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_room)
    in_memory = _report(50, incomplete=True)
    assert in_memory == on_disk
    err = capsys.readouterr().err
    assert err.count("Warning: cannot write the JUnit report's suites") == 1, err
    assert "No space left on device" in err and "TMPDIR" in err
