"""A `check` run that fails part-way never writes a report that reads as complete.

The CLI refuses what it can before the report begins (a bad --ca-bundle:
tests/acceptance/test_cli_hostile_use.py); whatever still fails once the
report has begun (a library caller, a failure nobody foresaw) ends the report
marked incomplete before the error goes on up.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from monitor.check.oneshot import run_check
from monitor.check.report import JsonWriter
from monitor.config import ConfigError, Settings
from monitor.secured.keys import KeyRing


def test_a_run_that_fails_after_the_report_began_is_marked_incomplete(tmp_path: Path) -> None:
    doc = tmp_path / "a.json"
    doc.write_text('{"webUrl": "https://news.test/a"}\n', encoding="utf-8")
    settings = Settings(paths=[doc], ca_bundle=tmp_path / "missing.pem", kinds=["web"])
    out = io.StringIO()
    with pytest.raises(ConfigError, match="ca_bundle"):
        asyncio.run(run_check(settings, KeyRing.load([], environ={}), JsonWriter(out)))
    report = json.loads(out.getvalue())
    assert report["summary"]["incomplete"] is True
