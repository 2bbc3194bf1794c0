"""Credentials written into a record's URLs never appear in the words of a finding
(session 6): `invalid_url`, `cdn_url_mismatch` and `duplicate_url` messages and an
invalid webUrl's error quoted the URL raw, password included, while the project
shows user-info one way everywhere (`monitor.urls.redact`: `***@`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daemon_harness import offline_report

SECRETS = ("s3cretpw", "hunter2", "pw3", "pw5", "pw6", "pw7", "pw9", "tok1")
RECORDS = [
    {
        "webUrl": "https://user:s3cretpw@news.test/a",
        "title": "t",
        "ampWebUrl": "ftp://bob:hunter2@news.test/amp",
        "cdnAmpWebUrl": "https://x:pw3@news-test.cdn.ampproject.org/c/s/news.test/amp",
        "images": [{"url": "gopher://img:pw5@news.test/i.png", "width": 1, "height": 1}],
    },
    {"webUrl": "https://u:pw6@news.test:99999/b"},
    {"webUrl": "https://u:pw7@[fe80::1%25eth0]/c"},
    {
        "webUrl": "https://news.test/d",
        "title": "t",
        "ampWebUrl": "https://news.test/amp/d",
        "cdnAmpWebUrl": "https://u:pw9@news-test.cdn.ampproject.org/c/s/news.test/other?token=tok1",
    },
    {"webUrl": "https://user:s3cretpw@news.test/a", "title": "again"},
]


def _words(report: dict[str, Any]) -> list[str]:
    out = [d["error"] for d in report["invalid_documents"]]
    for article in report["articles"]:
        out += [p["message"] for p in article["problems"]]
        out += [str(t.get("error")) for t in article["targets"]]
        out += [p["message"] for t in article["targets"] for p in t["problems"]]
    return out


def test_findings_never_quote_url_credentials(tmp_path: Path) -> None:
    corpus = tmp_path / "c.json"
    corpus.write_text(json.dumps(RECORDS, indent=1))
    report = offline_report(corpus)
    words = _words(report)
    codes = {p["code"] for a in report["articles"] for p in a["problems"]}
    assert {"invalid_url", "cdn_url_mismatch", "duplicate_url"} <= codes
    assert len(report["invalid_documents"]) == 2
    assert any("***@" in w for w in words)
    leaked = [w for w in words if any(s in w for s in SECRETS)]
    assert leaked == []
