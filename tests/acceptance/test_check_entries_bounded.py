"""A large corpus of valid articles costs `check` bounded memory: the report's
entries wait on disk until the corpus is read (duplicates are corpus-wide),
not in a list, and the report still lists every article in input order with
its duplicates. When no temporary file can be written, none is lost: they
stay in memory, and stderr says so once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, user_env
from support.child_peak import peak_run

# soak and scale: `make test-slow` (CI runs it after `make test`), not the README's `make test`
pytestmark = pytest.mark.slow

ARTICLES = 60_000
# peak RSS of the run, in KiB: ~72 MB with the entries on disk; holding every
# entry (~1.5 KB each) and its document's identity peaked at ~164 MB
PEAK_KIB = 115_000

# sets a file-size limit, then becomes the command given (the limit is kept)
FILE_SIZE_LIMIT = """
import os, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.argv[2], sys.argv[2:])
"""


def web(n: int) -> str:
    m = n % (ARTICLES - 1)  # the last article is the first one again
    return f"https://host{m % 100}.example/news/{m}/story"


def corpus(path: Path, count: int) -> Path:
    with path.open("w") as out:
        for n in range(count):
            host = f"host{n % (ARTICLES - 1) % 100}.example"
            cdn = host.replace(".", "-")
            record = {
                "webUrl": web(n),
                "ampWebUrl": f"https://{host}/amp/{n}",
                "cdnAmpWebUrl": f"https://{cdn}.cdn.ampproject.org/c/s/{host}/amp/{n}",
                "title": f"Story {n}",
                "provider": {"name": "P", "domain": host},
                "publishedDateTime": "2026-11-01T10:00:00Z",
                "images": [{"url": f"https://{host}/img/{n}.jpg", "width": 640, "height": 480}],
            }
            out.write(json.dumps(record) + "\n")
    return path


def listed_in_order(report: dict[str, Any], count: int) -> None:
    articles = report["articles"]
    assert [a["webUrl"] for a in articles] == [web(n) for n in range(count)]
    dups = [n for n, a in enumerate(articles) if a["problems"]]
    expected = [0, count - 1] if count == ARTICLES else []
    assert dups == expected, dups
    for n in dups:
        assert [p["code"] for p in articles[n]["problems"]] == ["duplicate_url"]
    assert report["summary"]["articles"] == count


def test_many_articles_are_all_reported_in_bounded_memory(tmp_path: Path) -> None:
    source = corpus(tmp_path / "big.jsonl", ARTICLES)
    spill = tmp_path / "tmp"
    spill.mkdir()
    with (tmp_path / "report.json").open("w") as out:
        run = peak_run(
            [CLI, "check", source, "--offline", "--format", "json"],
            stdout=out,
            env=user_env(TMPDIR=str(spill)),
            timeout=120,
        )
    assert "Traceback" not in run.err and "Warning" not in run.err, run.err
    assert run.code == 1  # the duplicate
    listed_in_order(json.loads((tmp_path / "report.json").read_text()), ARTICLES)
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"
    assert list(spill.iterdir()) == []  # the spill file was anonymous, and is gone


def test_a_temporary_file_that_cannot_grow_loses_no_article(tmp_path: Path) -> None:
    count = 9_000  # 5,000 kept in memory, then chunks of ~450 KB: the first one is cut
    source = corpus(tmp_path / "articles.jsonl", count)
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, "200000", CLI, "check", source, "--offline"],
        capture_output=True,  # a pipe: the report itself is not held to the limit
        text=True,
        env=user_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, done.stderr
    assert "cannot write articles to a temporary file" in warnings[0]
    assert "File too large" in warnings[0] and "ulimit -f" in warnings[0]
    assert "TMPDIR" not in warnings[0]  # no folder has room past the limit
    listed_in_order(json.loads(done.stdout), count)
