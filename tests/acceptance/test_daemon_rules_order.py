"""The order and repeats of `exclude_fields` and `exclude_urls` in the config
decide nothing (a path names a place in the record as written, a URL is left
out if any pattern matches), so a start with the same sets listed otherwise
reads nothing again. The rules' digest kept their order: every file of the
corpus was read again ("the keys, exclude_fields, ... differ from those the
corpus was recorded with"), hours for a large one. A restart is two
processes: two `run --once` (~1.0 CPU-s, ~1.5 s each; the first migrates a new
database), the first recording the corpus, the second listing the same sets
reordered and repeated (that another set is another digest, read again:
tests/unit/test_rules_digest_sets.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from daemon_harness import CLI, article, user_env, write_config

DIFFER = "differ from those the corpus was recorded with"


def once(tmp_path: Path, fields: list[str], urls: list[str]) -> str:
    config = write_config(
        tmp_path, 1, interval=3600.0, exclude_fields=fields, exclude_urls=urls, retries=0
    )
    done = subprocess.run(
        [CLI, "run", "--config", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(),
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_the_same_exclusions_reordered_read_nothing_again(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    for n in range(3):
        (tmp_path / "corpus" / f"{n}.txt").write_text(article(f"http://news.test/{n}/"))
    first = once(tmp_path, ["title", "images.*.title"], ["^https?://ads\\.", "/tracking/"])
    assert "3 changed" in first, first
    again = once(
        tmp_path, ["images.*.title", "title", "title"], ["/tracking/", "^https?://ads\\."] * 2
    )
    assert DIFFER not in again and "read again" not in again, again
