"""`check --format markdown`: text from a document or a server is inert.

The report is made to be pasted on a forge (a pull request's comment, an
issue); a record's field or a server's reason phrase reads `[click](URL)` or
`![](URL)`, and the cell carried it as a live link or an image fetched by
every reader. Rendered by a CommonMark parser, the report now has no link or
image, and the text still reads as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "![x](http://evil.example/p.png) [click](http://evil.example/) [ref][1] $x^2$ @owner"


def test_a_hostile_field_renders_as_text_not_a_link(tmp_path: Path) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    (tmp_path / "a.txt").write_text(
        "---\n"
        'webUrl: "https://news.example/a/"\n'
        f'ampWebUrl: "{HOSTILE}"\n'
        "provider:\n  name: N\n  domain: news.example\n---\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "check",
            str(tmp_path),
            "--offline",
            "--format",
            "markdown",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(done.stdout)
    assert "<table>" in html
    for tag in ("<a ", "<img"):
        assert tag not in html, (tag, html)
    # the field reads as written in its cells (the invalid_url rows)
    assert html.count(HOSTILE) >= 2, html
    # a forge's math and mentions (GitHub: `$…$`, `@name`) are not in the source
    table = done.stdout[done.stdout.index("| article |") :]
    assert "$" not in table and "@" not in table, table
