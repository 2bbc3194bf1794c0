"""`grafana export --runbook-url` and `--status-url` are written into every alert's
annotations: a line break there (a paste error) was written into the rule file
as a two-line link (`runbook_url: 'docs/ops.md\\nINJECT: x#…'`), and a status
address that is not an http(s) URL made links nobody can follow. Both are
refused with `Error:` and exit 2, nothing written; a good link is kept.

Runs the installed CLI (a subprocess per case); nothing touches the network.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, refused


def export(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "grafana", "export", "--out", str(tmp / "out"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--runbook-url", "docs/ops.md\nINJECT: x"), "line break"),
        (("--runbook-url", "https://wiki.example/ops\r"), "carriage return"),
        (("--status-url", "https://status.example/\nx"), "control characters"),
        (("--status-url", "status.example"), "absolute"),
    ],
    ids=["runbook-newline", "runbook-cr", "status-newline", "status-relative"],
)
def test_a_broken_link_is_refused(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    refused(export(tmp_path, *args), args[0], said, first=False)
    assert not (tmp_path / "out").exists()


def test_good_links_are_written(tmp_path: Path) -> None:
    out = export(
        tmp_path,
        "--runbook-url",
        "https://wiki.example/ops.md",
        "--status-url",
        "https://ops.example/am",
    )
    assert out.returncode == 0, out.stderr
    rules = (tmp_path / "out" / "prometheus" / "article-monitor.rules.yml").read_text()
    assert "runbook_url: https://wiki.example/ops.md#articlemonitorabsent" in rules
    assert "status_url: https://ops.example/am" in rules
