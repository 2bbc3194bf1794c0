"""The benchmark scripts still run, end to end, on a tiny workload (loopback only).

Their figures are never asserted (a test is not a benchmark); what is
asserted is that each script runs to completion, checks what it says it
checks, and reports the measures its README promises.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

# soak and scale: `make test-slow` (CI runs it after `make test`), not the README's `make test`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_tree_rss_counts_the_children_of_the_command() -> None:
    """A parent holding little and a child holding 64 MiB: the tree's peak has both."""
    child = "import time; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    out = run(str(BENCH / "tree_rss.py"), "--json", "--", sys.executable, "-c", parent)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stderr.strip().splitlines()[-1])
    assert figures["peak_tree_rss_mib"] >= 64
    assert figures["most_processes"] >= 2
    assert figures["peak_tree_rss_mib"] > figures["max_single_rss_mib"]


def test_check_vs_lychee_runs_and_verifies_each_tool() -> None:
    out = run(
        str(BENCH / "check_vs_lychee.py"),
        "--records",
        "20",
        "--repeat",
        "1",
        "--skip-lychee",
        "--only",
        "article-monitor,bare aiohttp",
    )
    assert out.returncode == 0, out.stderr
    # every run checked all 100 URLs, each answered once by the simulator
    runs = [line for line in out.stdout.splitlines() if line.startswith("  run ")]
    assert len(runs) == 2
    for line in runs:
        assert "checked 100 " in line, line
        assert " 100 req " in line, line
    assert "peak RSS MB" in out.stdout


def test_check_vs_lychee_small_bodies_with_latency_and_host_names() -> None:
    """The issue-16 shape: small pages, a latency, per-host 8, host names by --connect-to,
    an A/B tree (`--against`, `--extra`): every URL checked once, the bound and the
    per-check columns."""
    out = run(
        str(BENCH / "check_vs_lychee.py"),
        "--records",
        "20",
        "--repeat",
        "1",
        "--skip-lychee",
        "--shape",
        "small",
        "--latency-ms",
        "5",
        "--per-host",
        "8",
        "--connect-to",
        "--against",
        f"tree={ROOT}",
        "--extra",
        "tree=--workers 2",  # a variant of the same tree: with a worker process
        "--only",
        "article-monitor,tree,bare aiohttp",
    )
    assert out.returncode == 0, out.stderr
    assert "small bodies, latency 5 ms (bound 25,600 checks/s)" in out.stdout
    runs = [line for line in out.stdout.splitlines() if line.startswith("  run ")]
    assert len(runs) == 3
    for line in runs:
        assert "checked 100 " in line, line
        assert " 100 req " in line, line
    for column in ("of bound", "CPU µs/check", "KB/check", "peak RSS MB", "largest MB"):
        assert column in out.stdout
    # the small shape: a few KiB a check, not the realistic ~90 KB
    row = next(line for line in out.stdout.splitlines() if line.startswith("bare aiohttp "))
    assert float(row.split()[7]) < 16, row
    # each run's start-up and end apart from its checking, from the simulator's clock:
    # a first request after the spawn, the exit after the last, both within the wall
    for line in runs:
        found = re.search(r"wall +([\d.]+)s.*first request ([\d.]+)s, exit ([\d.]+)s after", line)
        assert found, line
        wall, first, last = map(float, found.groups())
        # each figure is printed to 0.01 s: their sum may pass the wall by rounding alone
        # when the checking between takes a few ms (100 bare-aiohttp checks at 5 ms)
        assert 0 < first < wall and 0 <= last < wall and first + last <= wall + 0.015, line
    for column in ("to 1st s", "last-exit s", "between"):
        assert column in out.stdout


def test_http_floor_reports_each_client() -> None:
    out = run(str(BENCH / "http_floor.py"), "--urls", "200", "--repeat", "1")
    assert out.returncode == 0, out.stderr
    for name in ("session", "protocol", "engine"):
        assert re.search(rf"^{name}\s+\d+ µs CPU per request", out.stdout, re.MULTILINE), out.stdout


def test_pipe_codec_times_both_formats() -> None:
    """Needs the git history (the baseline format is read with `git show`)."""
    out = run(str(BENCH / "pipe_codec.py"), "--results", "300", "--repeat", "1")
    assert out.returncode == 0, out.stderr
    for name in ("baseline", "current", "pickle5"):  # msgspec's rows: only where it is installed
        line = rf"^{name}\b.*\d+\.\d+\s+\d+\.\d+x\s+\d+$"
        assert re.search(line, out.stdout, re.MULTILINE), out.stdout


def test_report_json_times_each_writer() -> None:
    """Needs the git history (the text writer before orjson is read with `git show`)."""
    out = run(str(BENCH / "report_json.py"), "--articles", "50", "--repeat", "1")
    assert out.returncode == 0, out.stderr
    for name in ("text", "dumps", "orjson", "current"):
        assert re.search(rf"^{name}\s+\d+\.\d+\s+\d+\.\d+x$", out.stdout, re.MULTILINE), out.stdout


def test_page_heads_times_both_readers_on_every_case() -> None:
    pytest.importorskip("selectolax")
    out = run(
        str(BENCH / "page_heads.py"), "--pages", "3", "--rounds", "1", "--min-seconds", "0.001"
    )
    assert out.returncode == 0, out.stderr
    for case in ("websim-web", "real-odd", "malformed", "charsets"):
        assert re.search(rf"^{case}\s.*\d+\.\d+x\s+\d+%$", out.stdout, re.MULTILINE), out.stdout
    assert "geometric mean" in out.stdout


def test_daemon_vs_check_times_each_mode() -> None:
    """`check`, `run --once` and `run` on tiny corpora: every mode ran, the daemon
    exited cleanly (SIGTERM for `run`), and the two verdict lines are printed."""
    out = run(
        str(BENCH / "daemon_vs_check.py"),
        "--once-records",
        "20",
        "--run-records",
        "20",
        "--seconds",
        # the daemon is well started before its SIGTERM (one that comes before its
        # handlers are in place exits 130): ~1.5 s idle, 8 s leaves a loaded machine room
        "8",
        "--latency-ms",
        "5",
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if " wall " in line]
    rows = {line.split(" wall ")[0].strip(): line for line in lines}
    assert set(rows) == {"check", "run --once", "check (run set)", "run"}, out.stdout
    for name in ("run --once", "run"):
        assert rows[name].endswith("rc 0"), rows[name]
    assert "(target <= 1.25x)" in out.stdout
    assert "(target >= 0.8x)" in out.stdout


def test_daemon_vs_check_runs_a_variant_beside_the_daemon() -> None:
    """`--variant LABEL:VAR=VALUE` runs the daemon once more with that environment."""
    out = run(
        str(BENCH / "daemon_vs_check.py"),
        *("--once-records", "10", "--skip", "run", "--latency-ms", "5"),
        *("--variant", "nomarks:ARTICLE_MONITOR_TEXT_DRIFT=false"),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split(" wall ")[0].strip() for line in out.stdout.splitlines() if " wall " in line]
    assert rows == ["check", "run --once", "run --once [nomarks]"], out.stdout
    assert "--once [nomarks] on " in out.stdout


def test_text_marks_times_each_part() -> None:
    out = run(str(BENCH / "text_marks.py"), "--pages", "8", "--rounds", "1")
    assert out.returncode == 0, out.stderr
    for name in ("websim small", "websim realistic", "real-world rich"):
        assert name in out.stdout
    for part in ("facts", "first", "recheck", "simhash", "visible", "digest"):
        assert f" {part} " in out.stdout
    out = run(str(BENCH / "text_marks.py"), "--memory", "1000")
    assert out.returncode == 0 and "1000 entries" in out.stdout, out.stderr


def test_status_flood_counts_the_probes_answered() -> None:
    out = run(str(BENCH / "status_flood.py"), "--clients", "20", "--probes", "2", "--rounds", "1")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^probes: \d+ of 2 answered 200$", out.stdout, re.M), out.stdout
    assert re.search(r"^server: evicted \d+, refused \d+, timed out \d+$", out.stdout, re.M)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_list_article_ids_times_each_way_after_comparing_them(dialect: str) -> None:
    extra: list[str] = []
    if dialect == "postgres":
        from support.pg import pg_schema_url

        urls = pg_schema_url()
        extra = ["--pg", next(urls)]
    try:
        out = run(str(BENCH / "list_article_ids.py"), "--targets", "300", "--repeat", "2", *extra)
    finally:
        if extra:
            urls.close()
    assert out.returncode == 0, out.stderr
    ways = {"united", "list"} | ({"joined"} if dialect == "postgres" else set())
    for page in (100, 1000):
        for way in ways:
            assert re.search(rf"page +{page} {way} +p50", out.stdout), (page, way, out.stdout)
