"""A corpus of hundreds of thousands of broken records costs `check` bounded
memory (the invalid documents wait on disk for the report, not in a list),
and the report still lists every one, in input order. When no temporary file
can be written, none is lost: they stay in memory, and stderr says so once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from daemon_harness import CLI, user_env
from support.child_peak import peak_run

LINES = 300_000
ERROR = "invalid JSON on this line: Expecting value (column 1)"
# peak RSS of the run, in KiB: ~45 MB with the spill store; the list of
# 300,000 documents and the report text made of it peaked at ~230 MB
PEAK_KIB = 100_000

# sets a file-size limit, then becomes the command given (the limit is kept)
FILE_SIZE_LIMIT = """
import os, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.argv[2], sys.argv[2:])
"""


def garbage(path: Path, count: int) -> Path:
    path.write_text("".join(f"not json {n}\n" for n in range(count)))
    return path


def listed_in_order(report: dict[str, object], source: Path, count: int) -> None:
    invalid = report["invalid_documents"]
    assert isinstance(invalid, list) and len(invalid) == count
    assert invalid[0] == {"source": str(source), "line": 1, "error": ERROR}
    assert invalid[-1] == {"source": str(source), "line": count, "error": ERROR}
    assert [d["line"] for d in invalid] == list(range(1, count + 1))
    assert {d["source"] for d in invalid} == {str(source)}
    assert {d["error"] for d in invalid} == {ERROR}
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["invalid_documents"] == count and summary["problems"] == count


def test_many_invalid_documents_are_all_listed_in_bounded_memory(tmp_path: Path) -> None:
    source = garbage(tmp_path / "garbage.jsonl", LINES)
    spill = tmp_path / "tmp"
    spill.mkdir()
    with (tmp_path / "report.json").open("w") as out:
        run = peak_run(
            [CLI, "check", source, "--offline", "--format", "json"],
            stdout=out,
            env=user_env(TMPDIR=str(spill)),
            timeout=90,
        )
    assert "Traceback" not in run.err and "Warning" not in run.err, run.err
    assert run.code == 1
    listed_in_order(json.loads((tmp_path / "report.json").read_text()), source, LINES)
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"
    assert list(spill.iterdir()) == []  # the spill file was anonymous, and is gone


def under_file_size_limit(limit: int, *args: str | Path) -> tuple[str, str]:
    """(stdout, the one warning) of the CLI run under RLIMIT_FSIZE `limit`: exit 1
    (invalid documents), no traceback, exactly one warning, about the spill."""
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, str(limit), CLI, *map(str, args)],
        capture_output=True,  # a pipe: the report itself is not held to the limit
        text=True,
        env=user_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, done.stderr
    assert "cannot write invalid documents to a temporary file" in warnings[0]
    return done.stdout, warnings[0]


def test_a_temporary_file_that_cannot_grow_loses_no_document(tmp_path: Path) -> None:
    count = 30_000  # 10,000 kept in memory, then chunks of ~70 KB: the third one is cut
    source = garbage(tmp_path / "garbage.jsonl", count)
    out, warning = under_file_size_limit(200_000, "check", source, "--offline")
    # the limit is what to raise: no folder has room past it
    assert "File too large" in warning and "ulimit -f" in warning
    assert "TMPDIR" not in warning and "free space" not in warning
    listed_in_order(json.loads(out), source, count)


def test_no_usable_temporary_folder_loses_no_document(tmp_path: Path) -> None:
    """A file-size limit of 0 (or a read-only root file system: a container's
    usual hardening) leaves Python no usable temporary folder at all: the
    warning that says so named the folder by asking for it again, which raised,
    and check ended with exit 2 and no report."""
    count = 12_000  # past the 10,000 kept in memory: the first chunk is spilled
    source = garbage(tmp_path / "garbage.jsonl", count)
    for command in ("check", "verify"):
        extra = ["--offline"] if command == "check" else []
        out, warning = under_file_size_limit(0, command, source, *extra, "--format", "json")
        assert "TMPDIR" in warning
        assert len(json.loads(out)["invalid_documents"]) == count
