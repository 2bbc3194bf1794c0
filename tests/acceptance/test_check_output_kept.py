"""`check --output FILE` is left as it was when the run fails.

The console script freezes the objects alive at its end (monitor.check.gc_pace:
the interpreter's last collections no longer walk them), so an open file they
hold is never finalized: a report file left open by a failing run lost its
buffered text (issue 16's hostile review). The command closes it on every path.
Since the report is written to a temporary file renamed over FILE when it is
complete (monitor.cli.report_file), a failing run's head of a report is not
kept: FILE keeps the last whole report, and the temporary file is removed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the real console entry (main: end_of_process runs), with a run that writes
# the report's head and then fails like a bug would
FAILING_RUN = textwrap.dedent(
    """
    import sys
    import monitor.check.oneshot as oneshot

    async def run_check(settings, keyring, writer, **kw):
        writer.begin([])
        raise RuntimeError("injected failure after the report began")

    oneshot.run_check = run_check
    from monitor.cli import main

    sys.argv = ["article-monitor", *sys.argv[1:]]
    main()
    """
)


def test_a_failing_run_leaves_the_last_report_and_no_temporary_file(tmp_path: Path) -> None:
    doc = tmp_path / "a.json"
    doc.write_text('{"webUrl": "https://example.com/a"}\n', encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "report.json"
    out.write_text('{"version": 1, "the": "last report"}\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("ARTICLE_MONITOR_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            FAILING_RUN,
            "check",
            "--offline",
            "--format",
            "json",
            "--output",
            str(out),
            str(doc),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "injected failure" in proc.stderr
    assert proc.returncode not in (0, 1)
    assert out.read_text(encoding="utf-8") == '{"version": 1, "the": "last report"}\n'
    assert os.listdir(reports) == ["report.json"]
