"""What servers and corpus files say reaches a terminal or a Markdown page as text:
rich markup in a URL (`[/x]`) does not raise, ANSI escapes do not repaint the
terminal, HTML in a Markdown cell stays inert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("article-monitor"))
HOSTILE = {
    "webUrl": "https://news.test/[/x]/story",
    "ampWebUrl": "ftp://x/[bold]y[/bold]<script>alert(1)</script>",
    "title": "t",
}


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_markup_and_escapes_in_findings_are_printed_as_text(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "a\x1b[31m.json").write_text(json.dumps(HOSTILE))
    out = subprocess.run(
        [CLI, "check", str(tmp_path), "--offline", "--format", fmt],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr  # problems found, not a crash
    assert "Traceback" not in out.stderr and "MarkupError" not in out.stderr
    assert "\x1b" not in out.stdout
    if fmt == "markdown":  # Markdown's own punctuation escaped too: it renders as written
        assert "\\\\x1b\\[31m.json" in out.stdout
        assert "\\[bold\\]y\\[/bold\\]" in out.stdout
        assert "<script>" not in out.stdout and "&lt;script&gt;" in out.stdout
    else:
        assert "\\x1b[31m.json" in out.stdout
        assert "[bold]y[/bold]" in out.stdout


def test_the_junit_report_stays_well_formed_xml_with_controls_and_nul(tmp_path: Path) -> None:
    """XML 1.0 cannot hold ESC or NUL even escaped: a file name with ESC and an
    image URL with NUL made `--format junit` unparseable (second hostile review)."""
    import xml.etree.ElementTree as ET

    article = {**HOSTILE, "images": [{"url": "ftp://x/\u001b\u0000", "width": 1, "height": 1}]}
    (tmp_path / "a\x1b[31m.json").write_text(json.dumps(article))
    out = subprocess.run(
        [CLI, "check", str(tmp_path), "--offline", "--format", "junit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    root = ET.fromstring(out.stdout)
    assert int(root.get("failures") or 0) >= 1
    assert "\\x1b[31m.json" in out.stdout
