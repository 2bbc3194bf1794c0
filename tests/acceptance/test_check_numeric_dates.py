"""`check` reports a number in publishedDateTime as an invalid document with its
line, as it reports a bad string date: it read it as Unix time."""

from __future__ import annotations

from pathlib import Path

from daemon_harness import offline_report


def test_check_reports_a_numeric_date_as_an_invalid_document(tmp_path: Path) -> None:
    page = tmp_path / "epoch.txt"
    page.write_text('---\nwebUrl: "https://news.test/epoch"\npublishedDateTime: 1587064080\n---\n')
    report = offline_report(page)
    assert report["articles"] == []
    assert report["invalid_documents"] == [
        {
            "source": str(page),
            "line": 3,
            "error": "field publishedDateTime: expected an RFC 3339 timestamp, got 1587064080",
        }
    ]
